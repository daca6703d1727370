/**
 * Slack: one workspace (SLACK_BOT_TOKEN) or any workspace that installs the app (OAuth), over
 * HTTP or Socket Mode; where it answers, its suggested prompts, and who "Ask a human" pings.
 */
import * as v from 'valibot';
import { defineSettings, type IsSet, postsAsBot } from '../../settings/area.js';
import {
  atLeastChars,
  idList,
  int,
  matching,
  optionalString,
  optionalUrl,
  parsedBy,
  prefixed,
  slackId,
  trimmed,
  variable,
} from '../../settings/variables.js';
import type { SlackDoorLimits } from './front-door.js';
import { parseSuggestedPrompts, type SuggestedPrompt } from './suggested-prompts.js';
import { parseInstallationKeys } from './token-crypto.js';

/** Installing in any workspace (distribution): Bolt's OAuth flow, a token per workspace. */
export interface SlackOAuthConfig {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly stateSecret: string;
  /** SLACK_INSTALLATION_KEY as given: base64 keys, the first encrypts, all decrypt. */
  readonly installationKey: string;
}

interface SlackCommonConfig {
  readonly signingSecret?: string;
  readonly appToken?: string;
  readonly apiURL?: string;
  readonly allowedChannels: readonly string[];
  /** Shown when someone opens the bot's assistant thread (SLACK_SUGGESTED_PROMPTS). */
  readonly suggestedPrompts?: readonly SuggestedPrompt[];
  /** ESCALATION_SLACK_GROUP: the user group "Ask a human" mentions. */
  readonly escalationGroup?: string;
  /** HTTP mode: what /slack/events reads before Bolt checks the signature (front-door.ts). */
  readonly receiver?: SlackDoorLimits;
}

/** One workspace with SLACK_BOT_TOKEN, or any workspace that installs the app (`oauth`). */
export type SlackConfig = SlackCommonConfig &
  (
    | { readonly botToken: string; readonly oauth?: undefined }
    | { readonly botToken?: undefined; readonly oauth: SlackOAuthConfig }
  );

export interface SlackSlice {
  readonly slack?: SlackConfig;
}

/** Encryption keys are checked now, so a bad key fails at start rather than at first install. */
const installationKey = variable(
  v.optional(
    v.pipe(
      trimmed(),
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        try {
          parseInstallationKeys(dataset.value);
        } catch (error) {
          addIssue({ message: (error as Error).message.replace(/^SLACK_INSTALLATION_KEY /, '') });
        }
      }),
    ),
  ),
);

const SLACK_OAUTH_VARIABLES = [
  'SLACK_CLIENT_ID',
  'SLACK_CLIENT_SECRET',
  'SLACK_STATE_SECRET',
  'SLACK_INSTALLATION_KEY',
] as const;

/** Installing in any workspace: all four OAuth variables, HTTP mode, and no single-workspace token. */
function slackOAuthProblems(set: IsSet): string[] {
  const problems = SLACK_OAUTH_VARIABLES.filter((name) => !set(name)).map((name) =>
    name === 'SLACK_INSTALLATION_KEY'
      ? 'SLACK_INSTALLATION_KEY is required to install in any workspace: tokens are never stored in clear (generate one with: openssl rand -base64 32)'
      : `${name} is required to install in any workspace (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET go together; see the README)`,
  );
  if (set('SLACK_BOT_TOKEN')) {
    problems.push(
      'SLACK_BOT_TOKEN cannot be combined with SLACK_CLIENT_ID: installing in any workspace stores a token per workspace; unset one of them',
    );
  }
  if (set('SLACK_APP_TOKEN')) {
    problems.push(
      'SLACK_APP_TOKEN (Socket Mode) cannot be combined with SLACK_CLIENT_ID: installing in any workspace needs HTTP mode, with the OAuth redirect on a public URL',
    );
  }
  if (!set('SLACK_SIGNING_SECRET')) {
    problems.push(
      'SLACK_SIGNING_SECRET is required to install in any workspace (Basic Information → Signing Secret)',
    );
  }
  return problems;
}

/** HTTP mode needs the signing secret; OAuth has its own rules; anything else needs the bot token. */
function slackProblems(set: IsSet): string[] {
  const problems: string[] = [];
  if (set('SLACK_BOT_TOKEN') && !set('SLACK_APP_TOKEN') && !set('SLACK_SIGNING_SECRET')) {
    problems.push(
      'SLACK_SIGNING_SECRET is required for Slack HTTP mode (Basic Information → Signing Secret), or set SLACK_APP_TOKEN for Socket Mode',
    );
  }
  const oauth = SLACK_OAUTH_VARIABLES.some(set);
  if (oauth) problems.push(...slackOAuthProblems(set));
  if (!oauth && (set('SLACK_APP_TOKEN') || set('SLACK_SIGNING_SECRET')) && !set('SLACK_BOT_TOKEN')) {
    problems.push(
      'SLACK_BOT_TOKEN is required when other SLACK_ variables are set (OAuth & Permissions → Bot User OAuth Token)',
    );
  }
  problems.push(...postsAsBot(set, 'ESCALATION_SLACK_GROUP', 'SLACK_BOT_TOKEN'));
  return problems;
}

export const slackSettings = defineSettings({
  variables: {
    SLACK_BOT_TOKEN: prefixed('xoxb-', 'a bot token'),
    SLACK_SIGNING_SECRET: optionalString,
    SLACK_APP_TOKEN: prefixed('xapp-', 'an app-level token'),
    SLACK_API_URL: optionalUrl('a Slack Web API base such as https://slack.com/api/'),
    SLACK_ALLOWED_CHANNELS: idList,
    /** Installing in any workspace (Bolt's OAuth flow): Basic Information → App Credentials. */
    SLACK_CLIENT_ID: matching(
      /^\d+\.\d+$/,
      'must be the Client ID (digits.digits, Basic Information → App Credentials)',
    ),
    SLACK_CLIENT_SECRET: optionalString,
    /** Signs the OAuth state cookie; any random string of 16+ characters. */
    SLACK_STATE_SECRET: atLeastChars(16, 'must be at least 16 random characters'),
    /** Encrypts installation tokens at rest: base64 32-byte keys, newest first. */
    SLACK_INSTALLATION_KEY: installationKey,
    SLACK_SUGGESTED_PROMPTS: parsedBy(parseSuggestedPrompts),
    /** The Slack user group (S…) "Ask a human" mentions; unset hides the button on Slack. */
    ESCALATION_SLACK_GROUP: slackId('S', 'user group'),
    /** The largest request body /slack/events accepts (1 MiB; Bolt's own default is 4 MB). */
    SLACK_MAX_BODY_BYTES: int(1024 * 1024, 16 * 1024, 16 * 1024 * 1024),
    /** Bytes of request bodies read and not yet signature-checked, across all connections. */
    SLACK_PENDING_BODY_BYTES: int(8 * 1024 * 1024, 64 * 1024, 256 * 1024 * 1024),
    /** Time for a whole request to arrive on PORT in HTTP mode (Node answers 408 past it). */
    SLACK_REQUEST_TIMEOUT_MS: int(10_000, 1_000, 120_000),
  },
  secrets: [
    'SLACK_BOT_TOKEN',
    'SLACK_SIGNING_SECRET',
    'SLACK_APP_TOKEN',
    'SLACK_CLIENT_SECRET',
    'SLACK_STATE_SECRET',
    'SLACK_INSTALLATION_KEY',
  ],
  problems: slackProblems,
  build: (env): SlackSlice => {
    const common: SlackCommonConfig = {
      ...(env.SLACK_SIGNING_SECRET ? { signingSecret: env.SLACK_SIGNING_SECRET } : {}),
      ...(env.SLACK_APP_TOKEN ? { appToken: env.SLACK_APP_TOKEN } : {}),
      ...(env.SLACK_API_URL ? { apiURL: env.SLACK_API_URL } : {}),
      allowedChannels: env.SLACK_ALLOWED_CHANNELS,
      suggestedPrompts: env.SLACK_SUGGESTED_PROMPTS,
      ...(env.ESCALATION_SLACK_GROUP ? { escalationGroup: env.ESCALATION_SLACK_GROUP } : {}),
      receiver: {
        maxBodyBytes: env.SLACK_MAX_BODY_BYTES,
        pendingBodyBytes: Math.max(env.SLACK_PENDING_BODY_BYTES, env.SLACK_MAX_BODY_BYTES),
        requestTimeoutMs: env.SLACK_REQUEST_TIMEOUT_MS,
      },
    };
    if (env.SLACK_BOT_TOKEN) return { slack: { ...common, botToken: env.SLACK_BOT_TOKEN } };
    if (
      env.SLACK_CLIENT_ID &&
      env.SLACK_CLIENT_SECRET &&
      env.SLACK_STATE_SECRET &&
      env.SLACK_INSTALLATION_KEY
    ) {
      const oauth: SlackOAuthConfig = {
        clientId: env.SLACK_CLIENT_ID,
        clientSecret: env.SLACK_CLIENT_SECRET,
        stateSecret: env.SLACK_STATE_SECRET,
        installationKey: env.SLACK_INSTALLATION_KEY,
      };
      return { slack: { ...common, oauth } };
    }
    return {};
  },
});
