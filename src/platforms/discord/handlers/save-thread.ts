/** "Save #n as knowledge" on a digest: hands the thread to the configured saver, answers privately. */
import { type ButtonInteraction, MessageFlags } from 'discord.js';
import { strings } from '../../../conversation/strings.js';
import { parseSaveId } from '../../../records/digest-discord.js';
import type { DiscordContext } from '../context.js';
import { NO_PINGS } from '../format.js';

export function onSaveThread(ctx: DiscordContext) {
  return async (interaction: ButtonInteraction) => {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const target = parseSaveId(interaction.customId);
    let message: string = strings.deliveryFailed;
    if (target) {
      try {
        const outcome = await ctx.threadSaver.save(
          {
            platform: 'discord',
            channelId: target.channel,
            ...(interaction.guildId ? { workspaceId: interaction.guildId } : {}),
          },
          { threadId: target.thread, requestedBy: interaction.user.id },
        );
        message = outcome.message;
      } catch (error) {
        ctx.log.error({ err: error }, 'saving a thread failed');
      }
    }
    await interaction.editReply({ content: message, allowedMentions: NO_PINGS });
  };
}
