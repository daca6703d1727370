/**
 * An answer in an interaction's ephemeral reply: the deferred reply is edited as the answer
 * streams, continuations are ephemeral follow-ups. Works wherever the interaction came from,
 * including user-install contexts where the bot cannot read or post in the channel itself.
 */
import {
  type ButtonInteraction,
  type CommandInteraction,
  MessageFlags,
  type ModalSubmitInteraction,
} from 'discord.js';
import type { ReplySurface } from './conversation.js';
import { NO_PINGS } from './format.js';

type Repliable = CommandInteraction | ModalSubmitInteraction | ButtonInteraction;

export function ephemeralSurface(interaction: Repliable): ReplySurface {
  return {
    async writeFirst(payload) {
      await interaction.editReply({ ...payload, allowedMentions: NO_PINGS });
    },
    async post(payload) {
      await interaction.followUp({ ...payload, allowedMentions: NO_PINGS, flags: MessageFlags.Ephemeral });
    },
    typing: async () => undefined, // the deferred reply already shows "thinking…"
  };
}
