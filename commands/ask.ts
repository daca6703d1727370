/** The slash and message commands, defined once for registration and documentation. */
import {
  ApplicationCommandType,
  ApplicationIntegrationType,
  ContextMenuCommandBuilder,
  InteractionContextType,
  SlashCommandBuilder,
} from 'discord.js';
import { ASK_ABOUT_COMMAND, ASK_COMMAND } from '../src/platforms/discord/command-names.js';

/** Matches RAG_MAX_QUESTION_CHARS' default; Discord enforces it in the client before sending. */
const MAX_QUESTION_CHARS = 2_000;

/**
 * Installable on a server and by a person: a user install lets someone ask wherever they are,
 * in servers without the bot, in DMs with friends and group DMs (the answer stays in the
 * interaction's reply there, since the bot cannot read or post in those channels).
 */
const INTEGRATION_TYPES = [ApplicationIntegrationType.GuildInstall, ApplicationIntegrationType.UserInstall];
const CONTEXTS = [
  InteractionContextType.Guild,
  InteractionContextType.BotDM,
  InteractionContextType.PrivateChannel,
];

export const askCommand = new SlashCommandBuilder()
  .setName(ASK_COMMAND)
  .setDescription('Ask the knowledge base a question')
  .addStringOption((option) =>
    option
      .setName('question')
      .setDescription('Your question')
      .setRequired(true)
      .setMaxLength(MAX_QUESTION_CHARS),
  )
  .addBooleanOption((option) => option.setName('private').setDescription('Only you see the answer'))
  .setIntegrationTypes(INTEGRATION_TYPES)
  .setContexts(CONTEXTS);

export const askAboutMessageCommand = new ContextMenuCommandBuilder()
  .setName(ASK_ABOUT_COMMAND)
  .setType(ApplicationCommandType.Message)
  .setIntegrationTypes(INTEGRATION_TYPES)
  .setContexts(CONTEXTS);

export const commandDefinitions = [askCommand.toJSON(), askAboutMessageCommand.toJSON()];
