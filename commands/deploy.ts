/**
 * `npm run commands:deploy`: registers /ask, /kb and "Save to knowledge base" with Discord. With DISCORD_GUILD_ID it goes to that
 * one server and is usable at once; without, it is global and can take up to an hour to appear.
 */
import { DiscordAPIError, REST, Routes } from 'discord.js';
import { runCommand } from '../src/cli/run.js';
import { loadConfig } from '../src/config.js';
import { commandDefinitions } from './ask.js';

async function main(): Promise<number> {
  const discord = loadConfig().discord;
  if (!discord?.token || !discord.applicationId) {
    process.stderr.write(
      'Set DISCORD_TOKEN (Developer Portal → Bot → Reset Token) and DISCORD_APPLICATION_ID (General Information → Application ID) to register the commands.\n',
    );
    return 2;
  }
  const rest = new REST(discord.apiURL ? { api: discord.apiURL } : {}).setToken(discord.token);
  const route = discord.guildId
    ? Routes.applicationGuildCommands(discord.applicationId, discord.guildId)
    : Routes.applicationCommands(discord.applicationId);
  try {
    await rest.put(route, { body: commandDefinitions });
  } catch (error) {
    const status = error instanceof DiscordAPIError ? error.status : undefined;
    const why =
      status === 401
        ? 'Discord rejected DISCORD_TOKEN'
        : status === 403 || status === 404
          ? 'Discord refused: check DISCORD_APPLICATION_ID (and that the bot is in DISCORD_GUILD_ID)'
          : `Discord could not be reached (${(error as Error).message})`;
    process.stderr.write(`${why}.\n`);
    return 1;
  }
  process.stdout.write(
    discord.guildId
      ? `Registered /ask, /kb, "Ask about this message" and "Save to knowledge base" in server ${discord.guildId}: usable now.\n`
      : 'Registered /ask, /kb, "Ask about this message" and "Save to knowledge base" globally (/ask and "Ask about this message" for server and user installs): they can take up to an hour to appear.\n',
  );
  return 0;
}

runCommand(main);
