/** Discord: the bot's token and application, where it answers, shards, and who "Ask a human" pings. */
import * as v from 'valibot';
import { defineSettings, postsAsBot } from '../../settings/area.js';
import {
  idList,
  matching,
  optionalString,
  optionalUrl,
  snowflake,
  variable,
  wholeNumber,
} from '../../settings/variables.js';

export interface DiscordConfig {
  readonly token: string;
  readonly applicationId?: string;
  readonly guildId?: string;
  readonly apiURL?: string;
  readonly allowedChannels: readonly string[];
  readonly shards?: 'auto' | number;
  /** ESCALATION_DISCORD_ROLE: the role "Ask a human" mentions. */
  readonly escalationRole?: string;
}

export interface DiscordSlice {
  readonly discord?: DiscordConfig;
}

/** `auto` or a count of shards. */
const shards = variable(
  v.optional(
    v.union([v.literal('auto'), wholeNumber(1, 10_000)], 'must be "auto" or a whole number of shards'),
  ),
);

export const discordSettings = defineSettings({
  variables: {
    DISCORD_TOKEN: optionalString,
    DISCORD_APPLICATION_ID: matching(/^\d{15,25}$/, 'must be the numeric application id (a snowflake)'),
    DISCORD_GUILD_ID: matching(/^\d{15,25}$/, 'must be a numeric guild (server) id'),
    DISCORD_API_URL: optionalUrl('a Discord REST API base such as https://discord.com/api'),
    DISCORD_ALLOWED_CHANNELS: idList,
    DISCORD_SHARDS: shards,
    /** The Discord role "Ask a human" mentions; unset hides the button on Discord. */
    ESCALATION_DISCORD_ROLE: snowflake('role'),
  },
  secrets: ['DISCORD_TOKEN'],
  problems: (set) => [
    ...postsAsBot(set, 'ESCALATION_DISCORD_ROLE', 'DISCORD_TOKEN'),
    ...((set('DISCORD_APPLICATION_ID') || set('DISCORD_GUILD_ID')) && !set('DISCORD_TOKEN')
      ? ['DISCORD_TOKEN is required when other DISCORD_ variables are set (Developer Portal → Bot → Token)']
      : []),
    // The bot logs in with the token alone, but its slash commands (/ask, /kb, the message
    // shortcuts) are registered under the application: without it nobody can ask.
    ...(set('DISCORD_TOKEN') && !set('DISCORD_APPLICATION_ID')
      ? [
          'DISCORD_APPLICATION_ID is required with DISCORD_TOKEN: the /ask command is registered under it (npm run commands:deploy). Copy it from Developer Portal → General Information → Application ID',
        ]
      : []),
  ],
  build: (env): DiscordSlice =>
    env.DISCORD_TOKEN
      ? {
          discord: {
            token: env.DISCORD_TOKEN,
            ...(env.DISCORD_APPLICATION_ID ? { applicationId: env.DISCORD_APPLICATION_ID } : {}),
            ...(env.DISCORD_GUILD_ID ? { guildId: env.DISCORD_GUILD_ID } : {}),
            ...(env.DISCORD_API_URL ? { apiURL: env.DISCORD_API_URL } : {}),
            allowedChannels: env.DISCORD_ALLOWED_CHANNELS,
            ...(env.DISCORD_SHARDS !== undefined ? { shards: env.DISCORD_SHARDS } : {}),
            ...(env.ESCALATION_DISCORD_ROLE ? { escalationRole: env.ESCALATION_DISCORD_ROLE } : {}),
          },
        }
      : {},
});
