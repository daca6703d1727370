/**
 * `/ask question [private]`: checked first (a refused question never becomes a reply or a
 * thread), deferred at once (Discord's 3-second rule), streamed into the reply, then a
 * thread on the reply for follow-ups. When the interaction token expires mid-answer (15
 * minutes) the answer continues in the channel.
 */
import { type ChatInputCommandInteraction, MessageFlags } from 'discord.js';
import type { HandoverData } from '../../../conversation/conversation.js';
import { isAllowed } from '../../../conversation/layer.js';
import { strings } from '../../../conversation/strings.js';
import { discordAudience } from '../audience.js';
import { type DiscordContext, firstInteraction, isMissingPermission } from '../context.js';
import {
  channelSurface,
  discordConversation,
  isExpiredInteraction,
  messageLocation,
  type ReplySurface,
} from '../conversation.js';
import { NO_PINGS, threadName } from '../format.js';
import { discordHandoffRole } from '../tenant-settings.js';

/** The interaction's reply and follow-ups, falling back to the channel once the token expires. */
function interactionSurface(
  interaction: ChatInputCommandInteraction,
  isPrivate: boolean,
  ctx: DiscordContext,
) {
  const channel = interaction.channel;
  // A private answer never continues in the channel: once its token expires, it stops there.
  const fallback = !isPrivate && channel?.isSendable() ? channelSurface(channel) : undefined;
  const state = { expired: false };
  // The reply's message, once written: another instance edits it through the channel if this
  // one dies (a private reply can only be edited with the interaction's token, never recorded).
  let written: HandoverData | undefined;
  const viaFallback = async (error: unknown, write: (surface: ReplySurface) => Promise<void>) => {
    if (!isExpiredInteraction(error) || !fallback) throw error;
    if (!state.expired) ctx.log.warn('interaction token expired; continuing in the channel');
    state.expired = true;
    await write(fallback);
  };
  const surface: ReplySurface = {
    async writeFirst(payload) {
      if (state.expired) return fallback!.writeFirst(payload);
      await interaction.editReply({ ...payload, allowedMentions: NO_PINGS }).then(
        (message) => {
          if (!isPrivate) written = messageLocation(message);
        },
        (error: unknown) => viaFallback(error, (s) => s.writeFirst(payload)),
      );
    },
    location: () => (state.expired ? fallback?.location?.() : written),
    async post(payload) {
      if (state.expired) return fallback!.post(payload);
      await interaction
        .followUp({
          ...payload,
          allowedMentions: NO_PINGS,
          ...(isPrivate ? { flags: MessageFlags.Ephemeral } : {}),
        })
        .then(
          () => undefined,
          (error: unknown) => viaFallback(error, (s) => s.post(payload)),
        );
    },
    typing: async () => undefined, // the deferred reply already shows "thinking…"
  };
  return { surface, state };
}

export function onAskCommand(ctx: DiscordContext) {
  return async (interaction: ChatInputCommandInteraction) => {
    if (!(await firstInteraction(ctx.conversations, interaction.id))) return;
    const isPrivate = interaction.options.getBoolean('private') ?? false;
    const refuse = (content: string) =>
      interaction.reply({
        content: `⚠️ ${content}`,
        flags: MessageFlags.Ephemeral,
        allowedMentions: NO_PINGS,
      });
    const checked = ctx.conversations.check(interaction.options.getString('question', true));
    if (!checked.ok) return void (await refuse(checked.message));
    const parentId = interaction.channel?.isThread() ? interaction.channel.parentId : null;
    const place = {
      channelId: interaction.channelId,
      ...(parentId ? { parentId } : {}),
      ...(interaction.guildId ? { workspaceId: interaction.guildId } : {}),
      direct: !interaction.inGuild(),
    };
    if (!isAllowed({ platform: 'discord', ...place }, ctx.config.allowedChannels)) {
      return void (await refuse(strings.notEnabledHere));
    }
    await interaction.deferReply(isPrivate ? { flags: MessageFlags.Ephemeral } : {});
    const { surface, state } = interactionSurface(interaction, isPrivate, ctx);
    const conversation = discordConversation({
      surface,
      place,
      asker: { id: interaction.user.id },
      history: async () => [],
      audience: () => discordAudience(interaction.channel),
      ...(ctx.editIntervalMs !== undefined ? { editIntervalMs: ctx.editIntervalMs } : {}),
      // A private reply or a DM is not where the role could see the question; elsewhere the
      // server's role (/kb settings, else ESCALATION_DISCORD_ROLE where it exists) is asked.
      askHuman:
        !isPrivate &&
        interaction.inCachedGuild() &&
        (await discordHandoffRole(ctx, interaction.guild)) !== undefined,
      // Finished by another instance if this one dies; a private reply cannot be.
      ...(isPrivate
        ? {}
        : {
            handover: {
              replyChannelId: interaction.channelId,
              history: 'none' as const,
              ...(interaction.inCachedGuild() && !interaction.channel?.isThread()
                ? { threadName: threadName(checked.question) }
                : {}),
            },
          }),
      // The reply the follow-up thread hangs off: the link the answer records keep.
      ...(isPrivate || !interaction.inGuild()
        ? {}
        : {
            permalink: async () =>
              `https://discord.com/channels/${interaction.guildId}/${interaction.channelId}/${(await interaction.fetchReply()).id}`,
          }),
    });
    // A private answer is marked as such, so no digest ever shows its question.
    await ctx.conversations.ask(conversation, checked.question, {
      via: isPrivate ? 'command-private' : 'command',
    });
    // No thread where the bot is not in the server (a user install): it could not post there.
    if (isPrivate || !interaction.inCachedGuild() || state.expired || interaction.channel?.isThread()) return;
    try {
      const reply = await interaction.fetchReply();
      await reply.startThread({ name: threadName(checked.question) });
    } catch (error) {
      if (!isMissingPermission(error)) throw error;
      await interaction
        .followUp({
          content: strings.noFollowUpThread,
          flags: MessageFlags.Ephemeral,
          allowedMentions: NO_PINGS,
        })
        .catch(() => undefined);
    }
  };
}
