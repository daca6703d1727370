/**
 * Finishing on this instance a Discord answer another instance began and could not finish (it
 * died mid-answer): the channel and the half-written message are fetched by id over REST (an
 * /ask reply too: a public interaction reply is a message the bot may edit through its
 * channel), the question is answered again into that message, and an /ask answer gets its
 * follow-up thread as it would have.
 */
import type { Message, SendableChannels, TextBasedChannel } from 'discord.js';
import * as v from 'valibot';
import type { Conversation } from '../../conversation/conversation.js';
import type { Resumer, ResumeTarget } from '../../conversation/layer.js';
import { discordAudience } from './audience.js';
import type { DiscordContext } from './context.js';
import { channelSurface, discordConversation } from './conversation.js';
import { discordAttachedFile, questionFiles } from './files.js';
import { channelHistory, recentMessages } from './history.js';
import { discordHandoffRole } from './tenant-settings.js';

const discordPlace = v.object({
  replyChannelId: v.string(),
  history: v.picklist(['channel', 'none']),
  questionMessageId: v.optional(v.string()),
  questionChannelId: v.optional(v.string()),
  replyTo: v.optional(v.string()),
  threadName: v.optional(v.string()),
  channelId: v.optional(v.string()),
  threadId: v.optional(v.string()),
  parentId: v.optional(v.string()),
  workspaceId: v.optional(v.string()),
  direct: v.optional(v.boolean()),
});

const discordReply = v.object({ channelId: v.string(), messageId: v.string() });

type Sendable = SendableChannels & TextBasedChannel;

export function discordResumer(ctx: DiscordContext): Resumer {
  const sendable = async (id: string): Promise<Sendable | undefined> => {
    const channel = await ctx.client.channels.fetch(id).catch(() => null);
    return channel?.isTextBased() && channel.isSendable() ? (channel as Sendable) : undefined;
  };
  const message = async (channel: Sendable | undefined, id: string | undefined) =>
    channel && id ? ((await channel.messages.fetch(id).catch(() => null)) ?? undefined) : undefined;

  return async (target: ResumeTarget): Promise<Conversation | undefined> => {
    const place = v.parse(discordPlace, target.place);
    const reply = target.reply ? v.parse(discordReply, target.reply) : undefined;
    const channel = await sendable(place.replyChannelId);
    const botId = ctx.client.user?.id;
    if (!channel || !botId) {
      ctx.log.warn({ channel: place.replyChannelId }, 'the channel of an answer to finish is gone');
      return undefined;
    }
    const existing = reply
      ? await message(
          reply.channelId === channel.id ? channel : await sendable(reply.channelId),
          reply.messageId,
        )
      : undefined;
    const questionChannel =
      place.questionChannelId && place.questionChannelId !== channel.id
        ? await sendable(place.questionChannelId)
        : channel;
    const question = await message(questionChannel, place.questionMessageId);
    const replyTo = place.replyTo ? await message(channel, place.replyTo) : undefined;
    const surface = channelSurface(channel, replyTo, existing);
    let recent: ReturnType<typeof recentMessages> | undefined;
    const readRecent = () => {
      recent ??= recentMessages(channel, place.questionMessageId!);
      return recent;
    };
    const withHistory = place.history === 'channel' && place.questionMessageId !== undefined;
    const files = async () =>
      question
        ? withHistory
          ? await questionFiles(question, channel, readRecent())
          : [...question.attachments.values()]
        : [];
    const guild = 'guild' in channel ? channel.guild : undefined;
    const askHuman = (await discordHandoffRole(ctx, guild)) !== undefined;
    const conversation = discordConversation({
      surface,
      place: {
        ...(place.channelId ? { channelId: place.channelId } : {}),
        ...(place.threadId ? { threadId: place.threadId } : {}),
        ...(place.parentId ? { parentId: place.parentId } : {}),
        ...(place.workspaceId ? { workspaceId: place.workspaceId } : {}),
        ...(place.direct ? { direct: true } : {}),
      },
      asker: { id: target.askerId },
      history: async () =>
        withHistory ? channelHistory(channel, place.questionMessageId!, botId, readRecent()) : [],
      attachments: async () => (await files()).map((attachment) => discordAttachedFile(attachment)),
      audience: () => discordAudience(channel),
      ...(ctx.editIntervalMs !== undefined ? { editIntervalMs: ctx.editIntervalMs } : {}),
      askHuman,
      handover: {
        replyChannelId: place.replyChannelId,
        history: place.history,
        ...(place.questionMessageId ? { questionMessageId: place.questionMessageId } : {}),
        ...(place.questionChannelId ? { questionChannelId: place.questionChannelId } : {}),
        ...(place.replyTo ? { replyTo: place.replyTo } : {}),
        ...(place.threadName ? { threadName: place.threadName } : {}),
      },
    });
    if (!place.threadName) return conversation;
    // An /ask answer is where its follow-up thread starts, once the answer is written.
    const name = place.threadName;
    return {
      ...conversation,
      openReply: async () => {
        const live = await conversation.openReply();
        return {
          ...live,
          async finish(final) {
            await live.finish(final);
            const answer: Message | undefined = surface.message();
            if (answer && !answer.hasThread) {
              await answer.startThread({ name }).catch((error: unknown) => {
                ctx.log.debug({ err: error }, 'could not start the follow-up thread of a finished answer');
              });
            }
          },
        };
      },
    };
  };
}
