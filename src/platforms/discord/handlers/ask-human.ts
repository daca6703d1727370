/**
 * "Ask a human" under an answer: posts in the answer's thread a message that mentions the
 * server's hand-off role (`/kb settings`, else ESCALATION_DISCORD_ROLE) — the one deliberate ping the bot sends, allowed
 * for exactly that role — and tells the person who clicked, privately, that it was done.
 */
import { type ButtonInteraction, MessageFlags, Routes } from 'discord.js';
import { strings } from '../../../conversation/strings.js';
import type { DiscordContext } from '../context.js';
import { ASK_HUMAN_PREFIX, NO_PINGS } from '../format.js';
import { discordHandoffRole } from '../tenant-settings.js';

export function onAskHuman(ctx: DiscordContext) {
  return async (interaction: ButtonInteraction) => {
    const questionId = interaction.customId.slice(ASK_HUMAN_PREFIX.length);
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const tell = (content: string) => interaction.editReply({ content, allowedMentions: NO_PINGS });
    if (!interaction.inGuild() || interaction.message.flags.has(MessageFlags.Ephemeral)) {
      return void (await tell(strings.humanNoThread));
    }
    // The server's own role (/kb settings), else ESCALATION_DISCORD_ROLE where the server has it.
    const role = await discordHandoffRole(ctx, interaction.guild);
    if (!role) return void (await tell(strings.humanNotConfigured));
    // Each answer lives in a thread of its own (a forum post is one too): the channel's hourly
    // limit counts the channel the threads hang off, or it would never trip.
    const channel = interaction.channel;
    const parentId = channel?.isThread() ? (channel.parentId ?? undefined) : undefined;
    const decision = await ctx.conversations.mayEscalate({
      platform: 'discord',
      questionId,
      userId: interaction.user.id,
      channelId: parentId ?? interaction.channelId,
    });
    if (!decision.ok) return void (await tell(decision.message));
    // An /ask reply carries its follow-up thread (same id as the message): ask there.
    const where = interaction.message.hasThread ? interaction.message.id : interaction.channelId;
    try {
      await ctx.client.rest.post(Routes.channelMessages(where), {
        body: {
          content: strings.humanWanted(`<@&${role}>`),
          allowed_mentions: { parse: [], roles: [role] },
        },
      });
    } catch (error) {
      ctx.log.warn({ err: error, channel: where }, 'could not ask a human');
      return void (await tell(strings.cannotPostHere));
    }
    await tell(
      ctx.conversations.escalated({
        place: {
          platform: 'discord',
          channelId: interaction.channelId,
          ...(where !== interaction.channelId ? { threadId: where } : {}),
          ...(parentId ? { parentId } : {}),
          workspaceId: interaction.guildId,
        },
        questionId,
        userId: interaction.user.id,
      }),
    );
  };
}
