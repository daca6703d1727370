/** The /ask slash command, defined once for registration and documentation. */
import { InteractionContextType, SlashCommandBuilder } from 'discord.js';

/** Matches RAG_MAX_QUESTION_CHARS' default; Discord enforces it in the client before sending. */
const MAX_QUESTION_CHARS = 2_000;

export const askCommand = new SlashCommandBuilder()
  .setName('ask')
  .setDescription('Ask the knowledge base a question')
  .addStringOption((option) =>
    option
      .setName('question')
      .setDescription('Your question')
      .setRequired(true)
      .setMaxLength(MAX_QUESTION_CHARS),
  )
  .addBooleanOption((option) => option.setName('private').setDescription('Only you see the answer'))
  .setContexts(InteractionContextType.Guild, InteractionContextType.BotDM);

export const commandDefinitions = [askCommand.toJSON()];
