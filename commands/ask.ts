/**
 * The bot's Discord commands, defined once for registration and documentation: /ask, the
 * "Ask about this message" and "Save to knowledge base" message commands, and /kb (managing
 * the knowledge, admins only).
 */
import {
  ApplicationCommandType,
  ApplicationIntegrationType,
  ChannelType,
  ContextMenuCommandBuilder,
  InteractionContextType,
  PermissionFlagsBits,
  SlashCommandBuilder,
} from 'discord.js';
import {
  ASK_ABOUT_COMMAND,
  ASK_COMMAND,
  SAVE_TO_KNOWLEDGE_COMMAND,
} from '../src/platforms/discord/command-names.js';

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
      .setDescription('Add a source: docs site, Git repo, GitHub issues, Notion or Confluence')
      .addStringOption((option) =>
        option
          .setName('url')
          .setDescription('Its URL, e.g. https://docs.example.com/ or https://github.com/org/repo')
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
  .addSubcommand((sub) => sub.setName('list').setDescription('List the sources'))
  .addSubcommand((sub) =>
    sub
      .setName('remove')
      .setDescription('Remove a source and everything it brought')
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
      .setDescription('Re-sync sources now')
      .addStringOption((option) =>
        option.setName('source').setDescription('Only this source (default: all)').setAutocomplete(true),
      ),
  )
  .addSubcommand((sub) =>
    sub
      .setName('learn')
      .setDescription('Turn this channel’s resolved threads (✅, solved tag) into knowledge')
      .addStringOption((option) =>
        option
          .setName('mode')
          .setDescription('on (default) or off')
          .addChoices({ name: 'on', value: 'on' }, { name: 'off', value: 'off' }),
      ),
  )
  .addSubcommand((sub) =>
    sub
      .setName('settings')
      .setDescription('Who “Ask a human” mentions and where the digest goes, for this server')
      .addRoleOption((option) =>
        option.setName('handoff_role').setDescription('The role “Ask a human” mentions'),
      )
      .addChannelOption((option) =>
        option
          .setName('digest_channel')
          .setDescription('Where the digest of unanswered and voted-down questions is posted')
          .addChannelTypes(ChannelType.GuildText, ChannelType.GuildAnnouncement),
      )
      .addStringOption((option) =>
        option
          .setName('clear')
          .setDescription('Stop one of them')
          .addChoices({ name: 'handoff', value: 'handoff' }, { name: 'digest', value: 'digest' }),
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

export const commandDefinitions = [
  askCommand.toJSON(),
  askAboutMessageCommand.toJSON(),
  kbCommand.toJSON(),
  saveToKnowledgeCommand.toJSON(),
];
