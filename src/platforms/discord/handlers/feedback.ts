/**
 * 👍/👎 under an answer: recorded by the conversation layer, thanked privately. A 👎 opens a
 * small form asking why instead (optional: dismissing it keeps the vote as it is).
 */
import { type ButtonInteraction, MessageFlags } from 'discord.js';
import type { DiscordContext } from '../context.js';
import { reasonModal } from './feedback-reason.js';

export function onFeedback(ctx: DiscordContext) {
  return async (interaction: ButtonInteraction) => {
    const [, vote, questionId = ''] = interaction.customId.split(':');
    const thanks = ctx.conversations.feedback({
      place: { platform: 'discord', channelId: interaction.channelId },
      questionId,
      userId: interaction.user.id,
      vote: vote === 'up' ? 'up' : 'down',
    });
    // Discord lets an interaction answer once: the form, or the thanks.
    if (vote !== 'up') {
      const shown = await interaction.showModal(reasonModal(questionId)).then(
        () => true,
        (error: unknown) => {
          ctx.log.debug({ err: error }, 'could not show the 👎 reason form');
          return false;
        },
      );
      if (shown) return;
    }
    await interaction.reply({ content: thanks, flags: MessageFlags.Ephemeral });
  };
}
