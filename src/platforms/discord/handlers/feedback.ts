/** 👍/👎 under an answer: recorded by the conversation layer, thanked privately. */
import { type ButtonInteraction, MessageFlags } from 'discord.js';
import type { DiscordContext } from '../context.js';

export function onFeedback(ctx: DiscordContext) {
  return async (interaction: ButtonInteraction) => {
    const [, vote, questionId = ''] = interaction.customId.split(':');
    const thanks = ctx.conversations.feedback({
      place: { platform: 'discord', channelId: interaction.channelId },
      questionId,
      userId: interaction.user.id,
      vote: vote === 'up' ? 'up' : 'down',
    });
    await interaction.reply({ content: thanks, flags: MessageFlags.Ephemeral });
  };
}
