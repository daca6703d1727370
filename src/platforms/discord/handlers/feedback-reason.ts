/** The optional "what was wrong?" form a 👎 opens: one line, recorded with the vote, thanked privately. */
import {
  type APIModalInteractionResponseCallbackData,
  ComponentType,
  MessageFlags,
  type ModalSubmitInteraction,
  TextInputStyle,
} from 'discord.js';
import { MAX_REASON_CHARS } from '../../../conversation/layer.js';
import { strings } from '../../../conversation/strings.js';
import type { DiscordContext } from '../context.js';
import { NO_PINGS } from '../format.js';

/** Custom id prefix of the form: `feedback_reason:<question id>`. */
export const REASON_MODAL_PREFIX = 'feedback_reason:';
const INPUT = 'reason';

export function reasonModal(questionId: string): APIModalInteractionResponseCallbackData {
  return {
    custom_id: `${REASON_MODAL_PREFIX}${questionId}`,
    title: strings.reasonTitle,
    components: [
      {
        type: ComponentType.Label,
        label: strings.reasonLabel.slice(0, 45),
        component: {
          type: ComponentType.TextInput,
          custom_id: INPUT,
          style: TextInputStyle.Short,
          required: false,
          max_length: MAX_REASON_CHARS,
          placeholder: strings.reasonPlaceholder,
        },
      },
    ],
  };
}

export function onFeedbackReason(ctx: DiscordContext) {
  return async (interaction: ModalSubmitInteraction) => {
    const questionId = interaction.customId.slice(REASON_MODAL_PREFIX.length);
    let reason = '';
    try {
      reason = interaction.fields.getTextInputValue(INPUT).trim();
    } catch {
      // An empty optional field may be left out: the vote stands without a reason.
    }
    const thanks = ctx.conversations.feedback({
      place: { platform: 'discord', ...(interaction.channelId ? { channelId: interaction.channelId } : {}) },
      questionId,
      userId: interaction.user.id,
      vote: 'down',
      ...(reason ? { reason } : {}),
    });
    await interaction.reply({ content: thanks, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
  };
}
