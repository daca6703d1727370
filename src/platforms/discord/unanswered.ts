/**
 * Interactions no handler answered. Discord shows "The application did not respond" to a
 * command, click or form left without a response, so every interaction gets one: a command
 * the bot does not know (or one sent with options its registration no longer has) is told
 * the commands are out of date, a handler's failure is told plainly, and an autocomplete
 * gets an empty list so the suggestions stop loading.
 */
import {
  DiscordjsErrorCodes,
  DiscordjsTypeError,
  type Interaction,
  MessageFlags,
  type RepliableInteraction,
} from 'discord.js';
import { strings } from '../../conversation/strings.js';
import type { Logger } from '../../log.js';
import { NO_PINGS } from './format.js';

/** discord.js' errors for options a command's registration does not match. */
const MISMATCHED_OPTIONS = new Set<string>([
  DiscordjsErrorCodes.CommandInteractionOptionNotFound,
  DiscordjsErrorCodes.CommandInteractionOptionType,
  DiscordjsErrorCodes.CommandInteractionOptionEmpty,
  DiscordjsErrorCodes.CommandInteractionOptionNoSubcommand,
  DiscordjsErrorCodes.CommandInteractionOptionNoSubcommandGroup,
  'CommandInteractionOptionInvalidChannelType', // thrown by discord.js, missing from its typings
]);

/** Whether a handler failed because the command arrived in a shape its registration no longer has. */
export function isOutOfDateCommand(error: unknown): boolean {
  return error instanceof DiscordjsTypeError && MISMATCHED_OPTIONS.has(error.code);
}

/**
 * Says `content` privately through whatever the interaction still allows: the response
 * itself, the deferred reply (a deferred reply's first follow-up would replace it anyway,
 * keeping its visibility), or a private follow-up once a reply was written or the click's
 * message was being updated.
 */
async function tell(interaction: RepliableInteraction, content: string): Promise<void> {
  const text = `⚠️ ${content}`; // read back as a notice, never as an answer, by history.ts
  if (!interaction.deferred && !interaction.replied) {
    await interaction.reply({ content: text, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
  } else if (interaction.deferred && !interaction.replied && interaction.ephemeral !== null) {
    await interaction.editReply({ content: text, allowedMentions: NO_PINGS });
  } else {
    await interaction.followUp({ content: text, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
  }
}

/** An interaction no handler is registered for: an old command, button or form, or one turned off. */
export async function answerUnhandled(interaction: Interaction, log: Logger): Promise<void> {
  if (interaction.isAutocomplete()) {
    if (!interaction.responded) await interaction.respond([]);
    return;
  }
  if (!interaction.isRepliable()) return;
  log.warn(
    {
      type: interaction.type,
      ...(interaction.isCommand() ? { command: interaction.commandName } : {}),
      ...(interaction.isMessageComponent() || interaction.isModalSubmit()
        ? { customId: interaction.customId }
        : {}),
    },
    'an interaction no handler knows; told the user it is out of date',
  );
  await tell(interaction, interaction.isCommand() ? strings.commandOutOfDate : strings.componentOutOfDate);
}

/** A handler threw: the person is told, in the one way the interaction still allows. */
export async function answerFailed(interaction: Interaction, error: unknown): Promise<void> {
  if (interaction.isAutocomplete()) {
    if (!interaction.responded) await interaction.respond([]);
    return;
  }
  if (!interaction.isRepliable()) return;
  await tell(
    interaction,
    isOutOfDateCommand(error) && interaction.isCommand()
      ? strings.commandOutOfDate
      : strings.interactionFailed,
  );
}
