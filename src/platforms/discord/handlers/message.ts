/**
 * Messages: a DM is a question; in a thread the bot started, any message is a follow-up; in a
 * channel, a mention starts a thread on the user's message and is answered there. Bots,
 * apps, webhooks and Discord's own system messages are never questions (two bots could talk
 * to each other forever), and a message delivered twice is answered once.
 */
import type { Message } from 'discord.js';
import { isAllowed } from '../../../conversation/layer.js';
import { strings } from '../../../conversation/strings.js';
import { discordAudience } from '../audience.js';
import { type DiscordContext, isMissingPermission } from '../context.js';
import {
  channelSurface,
  type DiscordHandover,
  discordConversation,
  type ReplySurface,
} from '../conversation.js';
import { discordAttachedFile, questionFiles } from '../files.js';
import { NO_PINGS, stripMention, threadName } from '../format.js';
import { channelHistory, recentMessages } from '../history.js';
import { discordHandoffRole } from '../tenant-settings.js';
import { forumPostQuestion, isForumPostStart } from './forum-post.js';

export function onMessage(ctx: DiscordContext) {
  const answer = async (
    message: Message,
    surface: ReplySurface,
    text: string,
    place: { channelId: string; threadId?: string; parentId?: string; direct?: boolean },
    history: () => Promise<Awaited<ReturnType<typeof channelHistory>>>,
    via: string,
    files: () => ReturnType<typeof questionFiles>,
    handover: DiscordHandover,
  ) => {
    // The server's own hand-off role (/kb settings), else ESCALATION_DISCORD_ROLE where it exists.
    const askHuman = message.inGuild() && (await discordHandoffRole(ctx, message.guild)) !== undefined;
    return ctx.conversations.ask(
      discordConversation({
        surface,
        place: { ...place, ...(message.guildId ? { workspaceId: message.guildId } : {}) },
        asker: { id: message.author.id },
        history,
        // The thread the answer goes into, or the channel: as it is when the answer is recorded.
        audience: () => discordAudience(ctx.client.channels.cache.get(place.threadId ?? place.channelId)),
        attachments: async () => (await files()).map((attachment) => discordAttachedFile(attachment)),
        ...(ctx.editIntervalMs !== undefined ? { editIntervalMs: ctx.editIntervalMs } : {}),
        askHuman,
        handover,
      }),
      text,
      { via, allowedChannels: ctx.config.allowedChannels },
    );
  };

  return async (message: Message) => {
    if (message.author.bot || message.webhookId || message.system) {
      ctx.log.debug({ channel: message.channelId }, 'ignored a message from a bot, webhook or the system');
      return;
    }
    const botId = ctx.client.user?.id;
    if (!botId) return;
    const mentioned = message.mentions.users.has(botId);
    const channel = message.channel;
    const inThread = channel.isThread();
    // Only DMs, the bot's threads and mentions are questions; the rest is not ours.
    const addressed = !message.inGuild() || mentioned || (inThread && channel.ownerId === botId);
    if (!addressed || !channel.isSendable()) return;
    if (!(await ctx.conversations.firstDelivery('discord', message.id))) return;
    // A file sent with no words is still a question: what does it say?
    const text =
      stripMention(message.content, botId) || (message.attachments.size > 0 ? strings.aboutTheFile : '');
    // The thread's recent messages, read once for its history and its earlier files.
    let recent: ReturnType<typeof recentMessages> | undefined;
    const readRecent = () => {
      recent ??= recentMessages(channel, message.id);
      return recent;
    };
    const history = () => channelHistory(channel, message.id, botId, readRecent());
    const files = () => questionFiles(message, channel, readRecent());
    const ownFiles = async () => [...message.attachments.values()];

    if (!message.inGuild()) {
      if (!text) return;
      await answer(
        message,
        channelSurface(channel),
        text,
        { channelId: channel.id, direct: true },
        history,
        'dm',
        ownFiles,
        { replyChannelId: channel.id, questionMessageId: message.id, history: 'channel' },
      );
      return;
    }
    if (inThread) {
      const question = forumPostQuestion(message, text);
      if (!question) return;
      const place = {
        channelId: channel.parentId ?? channel.id,
        threadId: channel.id,
        ...(channel.parentId ? { parentId: channel.parentId } : {}),
      };
      await answer(
        message,
        channelSurface(channel),
        question,
        place,
        history,
        isForumPostStart(message) ? 'forum-post' : mentioned ? 'mention' : 'follow-up',
        files,
        { replyChannelId: channel.id, questionMessageId: message.id, history: 'channel' },
      );
      return;
    }
    // A mention in a channel: refusals come before a thread is created for nothing.
    if (!isAllowed({ platform: 'discord', channelId: channel.id }, ctx.config.allowedChannels)) return;
    const checked = ctx.conversations.check(text);
    if (!checked.ok) {
      const content = checked.kind === 'empty' ? strings.emptyMention : `⚠️ ${checked.message}`;
      await message.reply({ content, allowedMentions: NO_PINGS });
      return;
    }
    try {
      const thread = await message.startThread({ name: threadName(checked.question) });
      const place = { channelId: channel.id, threadId: thread.id };
      await answer(
        message,
        channelSurface(thread),
        checked.question,
        place,
        async () => [],
        'mention',
        ownFiles,
        {
          replyChannelId: thread.id,
          questionMessageId: message.id,
          questionChannelId: channel.id,
          history: 'none',
        },
      );
    } catch (error) {
      if (!isMissingPermission(error)) throw error;
      await message.reply({ content: strings.noThreadPermission, allowedMentions: NO_PINGS });
      const place = { channelId: channel.id };
      await answer(
        message,
        channelSurface(channel, message),
        checked.question,
        place,
        async () => [],
        'mention',
        ownFiles,
        { replyChannelId: channel.id, questionMessageId: message.id, history: 'none', replyTo: message.id },
      );
    }
  };
}
