/**
 * The bot's Discord commands, defined once for registration and documentation: /ask, /kb
 * (managing the knowledge, admins only) and the "Save to knowledge base" message command.
 */
import {
  ApplicationCommandType,
  ContextMenuCommandBuilder,
  InteractionContextType,
  PermissionFlagsBits,
  SlashCommandBuilder,
} from 'discord.js';
import { SAVE_TO_KNOWLEDGE_COMMAND } from '../src/platforms/discord/handlers/save-thread.js';

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

/**
 * /kb: visible to members with Manage Server by default (server admins can grant it to a role in
 * Server Settings → Integrations); the bot checks again, so DISCORD_ADMIN_ROLE members pass too.
 */
export const kbCommand = new SlashCommandBuilder()
  .setName('kb')
  .setDescription('Manage the knowledge base (admins)')
  .setContexts(InteractionContextType.Guild)
  .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
  .addSubcommand((sub) =>
    sub
      .setName('add')
      .setDescription('Crawl a docs site into a collection')
      .addStringOption((option) =>
        option
          .setName('url')
          .setDescription('The site, e.g. https://docs.example.com/')
          .setRequired(true)
          .setMaxLength(500),
      )
      .addStringOption((option) =>
        option
          .setName('collection')
          .setDescription('Collection to add it to (default: this channel’s)')
          .setAutocomplete(true)
          .setMaxLength(40),
      ),
  )
  .addSubcommand((sub) => sub.setName('list').setDescription('List the web sources'))
  .addSubcommand((sub) =>
    sub
      .setName('remove')
      .setDescription('Remove a web source and its pages')
      .addStringOption((option) =>
        option.setName('source').setDescription('The source').setRequired(true).setAutocomplete(true),
      ),
  )
  .addSubcommand((sub) =>
    sub.setName('status').setDescription('Collections, sources, last sync and failures'),
  )
  .addSubcommand((sub) =>
    sub
      .setName('sync')
      .setDescription('Re-sync web sources now')
      .addStringOption((option) =>
        option.setName('source').setDescription('Only this source (default: all)').setAutocomplete(true),
      ),
  )
  .addSubcommand((sub) =>
    sub
      .setName('use')
      .setDescription('Choose the collections this channel reads')
      .addStringOption((option) =>
        option
          .setName('collections')
          .setDescription('Comma-separated collections, or "reset"')
          .setRequired(true)
          .setAutocomplete(true)
          .setMaxLength(200),
      ),
  );

export const saveToKnowledgeCommand = new ContextMenuCommandBuilder()
  .setName(SAVE_TO_KNOWLEDGE_COMMAND)
  .setType(ApplicationCommandType.Message)
  .setContexts(InteractionContextType.Guild);

export const commandDefinitions = [askCommand.toJSON(), kbCommand.toJSON(), saveToKnowledgeCommand.toJSON()];
