/**
 * Configuration from the environment (and `.env` via dotenv), validated once with every
 * problem reported together. Error messages name variables and never echo their values.
 */
import { existsSync } from 'node:fs';
import { config as loadDotenv } from 'dotenv';
import * as v from 'valibot';
import { parseRoutes } from './knowledge/collections.js';
import { parseSuggestedPrompts, type SuggestedPrompt } from './platforms/slack/suggested-prompts.js';
import { parseInstallationKeys } from './platforms/slack/token-crypto.js';
import { parseOrigins } from './web/origins.js';

/** A blank value means unset, so an `.env` copied from `.env.example` works. */
const unsetIfBlank = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;
/** For words compared case-insensitively (switches, choices): trimmed, lower case, blank unset. */
const unsetIfBlankLowerCase = (value: unknown): unknown =>
  typeof value === 'string' ? value.trim().toLowerCase() || undefined : value;

/** One environment variable: blank values are unset before `schema` sees them. */
const variable = <S extends v.GenericSchema>(schema: S) =>
  v.pipe(v.unknown(), v.transform(unsetIfBlank), schema);
/** A word variable (case and surrounding spaces do not matter). */
const word = <S extends v.GenericSchema>(schema: S) =>
  v.pipe(v.unknown(), v.transform(unsetIfBlankLowerCase), schema);

const trimmed = () => v.pipe(v.string(), v.trim());
const optionalString = variable(v.optional(trimmed()));
/** A text variable with a default when unset. */
const text = (fallback: string) => variable(v.optional(trimmed(), fallback));
/** A folder, kept as given (a path may end in a space). */
const folder = (fallback: string) => variable(v.optional(v.string(), fallback));
const matching = (pattern: RegExp, message: string) =>
  variable(v.optional(v.pipe(trimmed(), v.regex(pattern, message))));
const atLeastChars = (min: number, message: string) =>
  variable(v.optional(v.pipe(trimmed(), v.minLength(min, message))));

/** The WHATWG parser ignores tabs and newlines inside a URL; so does the value we keep. */
const withoutTabsAndNewlines = (value: string): string => value.replace(/[\t\n\r]/g, '');
const optionalUrl = (hint: string) => {
  const message = `must be a URL (${hint})`;
  return variable(
    v.optional(
      v.pipe(
        v.string(message),
        v.trim(),
        v.check((value) => URL.canParse(value), message),
        v.transform(withoutTabsAndNewlines),
      ),
    ),
  );
};

/** `Number()` reads ` 5 `, `1e3` and `0x10` as numbers, as the bot always has. */
const toNumber = v.transform((value: unknown) => Number(value));
/** A number in range; `check` and its message say which numbers (whole, or any finite). */
const numberIn = (min: number, max: number, check: (value: number) => boolean, message: string) =>
  v.pipe(
    v.unknown(),
    toNumber,
    v.custom<number>((value) => check(value as number), message),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );
/** Not a whole number stops there (a schema, not a check): `1.5` is one problem. */
const wholeNumber = (min: number, max: number) =>
  numberIn(min, max, Number.isInteger, 'must be a whole number');
const int = (fallback: number, min: number, max: number) =>
  variable(v.optional(wholeNumber(min, max), fallback));
const optionalNumber = (min: number, max: number) =>
  variable(v.optional(numberIn(min, max, Number.isFinite, 'must be a number')));
/** `auto` or a count of shards. */
const shards = variable(
  v.optional(
    v.union([v.literal('auto'), wholeNumber(1, 10_000)], 'must be "auto" or a whole number of shards'),
  ),
);

const idList = variable(
  v.pipe(
    v.optional(v.string()),
    v.transform((value) =>
      value
        ? value
            .split(',')
            .map((id) => id.trim())
            .filter(Boolean)
        : [],
    ),
  ),
);
const prefixed = (prefix: string, what: string) =>
  variable(v.optional(v.pipe(trimmed(), v.startsWith(prefix, `must be ${what} (starts with "${prefix}")`))));

/** A variable with its own parser (unset included), whose error message is the problem. */
const parsedBy = <T>(parse: (value: string | undefined) => T, describe = (message: string) => message) =>
  variable(
    v.pipe(
      v.optional(v.string()),
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        try {
          return parse(dataset.value);
        } catch (error) {
          addIssue({ message: describe((error as Error).message) });
          return NEVER;
        }
      }),
    ),
  );
const suggestedPrompts = parsedBy(parseSuggestedPrompts);
const originList = parsedBy(parseOrigins);
const routes = parsedBy(parseRoutes, (message) => `must look like C0123=hr,default;T0456=eng: ${message}`);

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

const SWITCH_VALUES = ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'] as const;
const ON_VALUES: ReadonlySet<string> = new Set(['true', '1', 'yes', 'on']);
/** A switch: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, any case; `whenUnset` otherwise. */
const switchedOn = (whenUnset: boolean) =>
  word(
    v.pipe(
      v.optional(v.picklist(SWITCH_VALUES, 'must be true or false')),
      v.transform((value) => (value === undefined ? whenUnset : ON_VALUES.has(value))),
    ),
  );
const flag = switchedOn(false);
/** A switch that is on unless set to a false value. */
const flagOn = switchedOn(true);

/** One of a few words, any case. */
const choice = <const T extends string>(options: readonly [T, ...T[]], fallback: T, message: string) =>
  word(v.optional(v.picklist(options, message), fallback));
/** One of a few exact words. */
const exactly = <const T extends string>(options: readonly [T, ...T[]], fallback: T) =>
  variable(v.optional(v.picklist(options, `must be one of ${options.join(', ')}`), fallback));

const snowflake = (what: string) => matching(/^\d{15,25}$/, `must be a numeric ${what} id (a snowflake)`);
const slackId = (first: string, what: string) =>
  matching(
    new RegExp(`^[${first}][A-Z0-9]{2,}$`),
    `must be a Slack ${what} id (starts with ${first.split('').join(' or ')})`,
  );

const DURATION_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** `6h`, `30m`, `1d`, `90s`; `off`/unset disables. At least a minute. */
const duration = variable(
  v.pipe(
    v.optional(trimmed()),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const value = dataset.value;
      if (value === undefined || /^(off|false|0|no)$/i.test(value)) return undefined;
      const match = /^(\d+(?:\.\d+)?)\s*([smhd])$/i.exec(value);
      const ms = match ? Number(match[1]) * DURATION_UNITS[match[2]!.toLowerCase()]! : Number.NaN;
      if (!(ms >= 60_000)) {
        addIssue({ message: 'must be a duration of at least a minute, like 6h, 30m or 1d (or off)' });
        return NEVER;
      }
      return ms;
    }),
  ),
);

const schema = v.object({
  GROQ_API_KEY: optionalString,
  GROQ_MODEL: text('llama-3.1-8b-instant'),
  /** Model for condensing follow-ups into standalone questions; defaults to GROQ_MODEL. */
  GROQ_CONDENSE_MODEL: optionalString,
  GROQ_BASE_URL: optionalUrl('an OpenAI-compatible API base such as https://api.groq.com'),
  GROQ_TIMEOUT_MS: int(30_000, 1_000, 600_000),
  GROQ_MAX_RETRIES: int(2, 0, 10),
  /** Total time the bot may spend waiting on Groq `retry-after` before telling the user. */
  GROQ_RETRY_BUDGET_MS: int(20_000, 0, 300_000),

  UPSTASH_VECTOR_REST_URL: optionalUrl('the REST URL from the Upstash console'),
  UPSTASH_VECTOR_REST_TOKEN: optionalString,
  UPSTASH_VECTOR_NAMESPACE: text(''),

  RAG_TOP_K: int(3, 1, 50),
  /** Passages scoring below this are ignored; default depends on the store. */
  RAG_MIN_SCORE: optionalNumber(0, 1_000),
  RAG_MAX_QUESTION_CHARS: int(2_000, 50, 100_000),
  /** Token budget for history + passages in the answer prompt. */
  RAG_CONTEXT_TOKENS: int(6_000, 500, 120_000),
  RAG_MAX_ANSWER_TOKENS: int(1_024, 64, 32_000),
  RAG_ANSWER_TIMEOUT_MS: int(90_000, 1_000, 900_000),
  /** Folder of the embedded local store. */
  RAG_DATA_DIR: folder('.rag-data'),
  /** Knowledge folder indexed automatically when the local store is empty. */
  RAG_KNOWLEDGE_DIR: folder('knowledge'),
  /** Largest file ingestion accepts, in megabytes. */
  INGEST_MAX_FILE_MB: int(20, 1, 2_048),
  /** Largest file attached to a question that is read, in megabytes. */
  ATTACHMENT_MAX_MB: int(5, 1, 100),
  /** Tokens all files attached to one question may use in the prompt (at most half of RAG_CONTEXT_TOKENS). */
  ATTACHMENT_MAX_TOKENS: int(3_000, 100, 60_000),

  DISCORD_TOKEN: optionalString,
  DISCORD_APPLICATION_ID: matching(/^\d{15,25}$/, 'must be the numeric application id (a snowflake)'),
  DISCORD_GUILD_ID: matching(/^\d{15,25}$/, 'must be a numeric guild (server) id'),
  DISCORD_API_URL: optionalUrl('a Discord REST API base such as https://discord.com/api'),
  DISCORD_ALLOWED_CHANNELS: idList,
  DISCORD_SHARDS: shards,

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
  SLACK_SUGGESTED_PROMPTS: suggestedPrompts,

  PORT: int(3000, 0, 65_535),

  /** Which collections each place reads: `C0123=hr,default;T0456=eng`. */
  KNOWLEDGE_ROUTES: routes,
  SLACK_ADMIN_USERS: idList,
  /** A role id or name whose members may run /kb (besides members with Manage Server). */
  DISCORD_ADMIN_ROLE: optionalString,
  SYNC_INTERVAL: duration,
  SAVE_TO_KB: choice(['admins', 'everyone'], 'admins', 'must be admins or everyone'),
  /** Keep authors' names in saved threads (stripped by default). */
  SAVE_TO_KB_KEEP_NAMES: flag,
  CRAWL_MAX_PAGES: int(200, 1, 100_000),
  CRAWL_MAX_DEPTH: int(4, 0, 50),
  CRAWL_CONCURRENCY: int(4, 1, 32),
  CRAWL_DELAY_MS: int(500, 0, 60_000),
  /** Let `/kb add` crawl loopback, private and link-local addresses (an intranet wiki). */
  CRAWL_ALLOW_PRIVATE: flag,

  WEB_CHAT: flag,
  WEB_CHAT_ORIGINS: originList,
  WEB_CHAT_TOKEN: atLeastChars(16, 'must be at least 16 characters long'),
  WEB_CHAT_TRUST_PROXY: flag,
  LOG_LEVEL: exactly(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  LOG_FORMAT: exactly(['json', 'pretty'], 'json'),

  REDIS_URL: optionalUrl('redis://host:6379'),
  RATE_LIMIT_USER_PER_MINUTE: int(10, 0, 10_000),
  RATE_LIMIT_CHANNEL_PER_MINUTE: int(60, 0, 100_000),
  MAX_CONCURRENT_ANSWERS: int(8, 1, 1_000),
  MAX_QUEUED_ANSWERS: int(32, 0, 100_000),
  SHUTDOWN_GRACE_MS: int(20_000, 0, 600_000),

  /** Days answer records are kept before the daily sweep deletes them. */
  RECORD_DAYS: int(90, 1, 3_650),
  /** false: records keep a hash of the question instead of its text. */
  RECORD_TEXT: flagOn,
  /** The Slack user group (S…) "Ask a human" mentions; unset hides the button on Slack. */
  ESCALATION_SLACK_GROUP: slackId('S', 'user group'),
  /** The Discord role "Ask a human" mentions; unset hides the button on Discord. */
  ESCALATION_DISCORD_ROLE: snowflake('role'),
  /** Where the digest of unanswered and voted-down questions is posted. */
  DIGEST_SLACK_CHANNEL: slackId('CG', 'channel'),
  DIGEST_DISCORD_CHANNEL: snowflake('channel'),
  DIGEST_SCHEDULE: choice(['weekly', 'daily', 'off'], 'weekly', 'must be weekly, daily or off'),
});

const SLACK_OAUTH_VARIABLES = [
  'SLACK_CLIENT_ID',
  'SLACK_CLIENT_SECRET',
  'SLACK_STATE_SECRET',
  'SLACK_INSTALLATION_KEY',
] as const;

/** Installing in any workspace: all four OAuth variables, HTTP mode, and no single-workspace token. */
function slackOAuthProblems(set: (name: string) => boolean): string[] {
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

/**
 * Rules spanning several variables, checked on the raw environment so they are reported
 * together with field errors (a check on the whole object would not run once a field fails).
 */
function crossFieldProblems(source: NodeJS.ProcessEnv): string[] {
  const set = (name: string): boolean => (source[name] ?? '').trim() !== '';
  const problems: string[] = [];
  const pair = (a: string, b: string, why: string) => {
    if (set(a) !== set(b))
      problems.push(`${set(a) ? b : a} is required when ${set(a) ? a : b} is set (${why})`);
  };
  pair('UPSTASH_VECTOR_REST_URL', 'UPSTASH_VECTOR_REST_TOKEN', 'both come from the Upstash console');
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
  for (const [name, platform] of [
    ['ESCALATION_SLACK_GROUP', 'SLACK_BOT_TOKEN'],
    ['DIGEST_SLACK_CHANNEL', 'SLACK_BOT_TOKEN'],
    ['ESCALATION_DISCORD_ROLE', 'DISCORD_TOKEN'],
    ['DIGEST_DISCORD_CHANNEL', 'DISCORD_TOKEN'],
  ] as const) {
    if (set(name) && !set(platform))
      problems.push(`${name} needs ${platform}: the bot posts there as itself`);
  }
  if ((set('DISCORD_APPLICATION_ID') || set('DISCORD_GUILD_ID')) && !set('DISCORD_TOKEN')) {
    problems.push(
      'DISCORD_TOKEN is required when other DISCORD_ variables are set (Developer Portal → Bot → Token)',
    );
  }
  return problems;
}

type Env = v.InferOutput<typeof schema>;

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
}

/** One workspace with SLACK_BOT_TOKEN, or any workspace that installs the app (`oauth`). */
export type SlackConfig = SlackCommonConfig &
  (
    | { readonly botToken: string; readonly oauth?: undefined }
    | { readonly botToken?: undefined; readonly oauth: SlackOAuthConfig }
  );

export interface Config {
  readonly groq: {
    readonly apiKey?: string;
    readonly model: string;
    readonly condenseModel: string;
    readonly baseURL?: string;
    readonly timeoutMs: number;
    readonly maxRetries: number;
    readonly retryBudgetMs: number;
  };
  readonly upstash?: { readonly url: string; readonly token: string; readonly namespace: string };
  readonly rag: {
    readonly topK: number;
    readonly minScore?: number;
    readonly maxQuestionChars: number;
    readonly contextTokens: number;
    readonly maxAnswerTokens: number;
    readonly answerTimeoutMs: number;
    readonly dataDir: string;
    readonly knowledgeDir: string;
  };
  readonly ingest: { readonly maxFileMB: number };
  /** Files attached to questions: read for that answer only, never stored. */
  readonly attachments: { readonly maxFileMB: number; readonly maxTokens: number };
  readonly discord?: {
    readonly token: string;
    readonly applicationId?: string;
    readonly guildId?: string;
    readonly apiURL?: string;
    readonly allowedChannels: readonly string[];
    readonly shards?: 'auto' | number;
    /** ESCALATION_DISCORD_ROLE: the role "Ask a human" mentions. */
    readonly escalationRole?: string;
  };
  readonly slack?: SlackConfig;
  readonly http: { readonly port: number };
  readonly knowledge: {
    /** KNOWLEDGE_ROUTES: place id → collections. */
    readonly routes: ReadonlyMap<string, readonly string[]>;
    readonly slackAdminUsers: readonly string[];
    readonly discordAdminRole?: string;
    /** Re-sync web sources this often; undefined: never on a schedule. */
    readonly syncIntervalMs?: number;
    /** Who may save a thread as knowledge. */
    readonly saveToKb: 'admins' | 'everyone';
    readonly keepAuthorNames: boolean;
    readonly crawl: {
      readonly maxPages: number;
      readonly maxDepth: number;
      readonly concurrency: number;
      readonly delayMs: number;
      /** `/kb add` may name sites on private addresses (the command line always may). */
      readonly allowPrivate: boolean;
    };
  };
  readonly web: {
    /** Serve the web chat from `npm start` (WEB_CHAT); `npm run web` always serves it. */
    readonly enabled: boolean;
    /** Origins whose pages may embed the chat with the widget. */
    readonly allowedOrigins: readonly string[];
    /** When set, API calls need it as a Bearer token. */
    readonly token?: string;
    /** Take the client address from X-Forwarded-For (behind a trusted reverse proxy). */
    readonly trustProxy: boolean;
  };
  readonly log: { readonly level: Env['LOG_LEVEL']; readonly format: Env['LOG_FORMAT'] };
  readonly limits: {
    readonly redisURL?: string;
    readonly userPerMinute: number;
    readonly channelPerMinute: number;
    readonly maxConcurrentAnswers: number;
    readonly maxQueuedAnswers: number;
    readonly shutdownGraceMs: number;
  };
  /** Answer records (src/records): how long they are kept, and whether question text is. */
  readonly records: { readonly days: number; readonly keepText: boolean };
  /** The digest of questions the bot failed, posted on a schedule. */
  readonly digest: {
    readonly schedule: 'weekly' | 'daily' | 'off';
    readonly slackChannel?: string;
    readonly discordChannel?: string;
  };
}

/** Thrown with every configuration problem at once; `message` is safe to print. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Configuration problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Variables holding secrets: never log or echo these. */
export const SECRET_VARIABLES = [
  'GROQ_API_KEY',
  'UPSTASH_VECTOR_REST_TOKEN',
  'DISCORD_TOKEN',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
  'SLACK_CLIENT_SECRET',
  'SLACK_STATE_SECRET',
  'SLACK_INSTALLATION_KEY',
  'REDIS_URL',
  'WEB_CHAT_TOKEN',
] as const;

/**
 * Loads `.env` into `process.env` (existing variables win) unless RAG_DOTENV=off, which
 * tests set so they never read a developer's real credentials.
 */
export function loadDotenvFile(path = '.env'): void {
  if (process.env.RAG_DOTENV === 'off' || !existsSync(path)) return;
  loadDotenv({ path, quiet: true });
}

/** Validates an environment; throws `ConfigError` listing every problem. */
export function parseConfig(source: NodeJS.ProcessEnv = process.env): Config {
  // Every variable is read, set or not, so each one's schema decides what unset means.
  const variables = Object.fromEntries(Object.keys(schema.entries).map((name) => [name, source[name]]));
  const result = v.safeParse(schema, variables);
  const problems = [
    ...(result.success
      ? []
      : result.issues.map((issue) => `${v.getDotPath(issue) || 'environment'} ${issue.message}`)),
    ...crossFieldProblems(source),
  ];
  if (!result.success || problems.length > 0) throw new ConfigError([...new Set(problems)]);
  const env = result.output;
  return {
    groq: {
      ...(env.GROQ_API_KEY ? { apiKey: env.GROQ_API_KEY } : {}),
      model: env.GROQ_MODEL,
      condenseModel: env.GROQ_CONDENSE_MODEL ?? env.GROQ_MODEL,
      ...(env.GROQ_BASE_URL ? { baseURL: env.GROQ_BASE_URL } : {}),
      timeoutMs: env.GROQ_TIMEOUT_MS,
      maxRetries: env.GROQ_MAX_RETRIES,
      retryBudgetMs: env.GROQ_RETRY_BUDGET_MS,
    },
    ...(env.UPSTASH_VECTOR_REST_URL && env.UPSTASH_VECTOR_REST_TOKEN
      ? {
          upstash: {
            url: env.UPSTASH_VECTOR_REST_URL,
            token: env.UPSTASH_VECTOR_REST_TOKEN,
            namespace: env.UPSTASH_VECTOR_NAMESPACE,
          },
        }
      : {}),
    rag: {
      topK: env.RAG_TOP_K,
      ...(env.RAG_MIN_SCORE !== undefined ? { minScore: env.RAG_MIN_SCORE } : {}),
      maxQuestionChars: env.RAG_MAX_QUESTION_CHARS,
      contextTokens: env.RAG_CONTEXT_TOKENS,
      maxAnswerTokens: env.RAG_MAX_ANSWER_TOKENS,
      answerTimeoutMs: env.RAG_ANSWER_TIMEOUT_MS,
      dataDir: env.RAG_DATA_DIR,
      knowledgeDir: env.RAG_KNOWLEDGE_DIR,
    },
    ingest: { maxFileMB: env.INGEST_MAX_FILE_MB },
    attachments: { maxFileMB: env.ATTACHMENT_MAX_MB, maxTokens: env.ATTACHMENT_MAX_TOKENS },
    ...(env.DISCORD_TOKEN
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
      : {}),
    ...slackConfig(env),
    http: { port: env.PORT },
    knowledge: {
      routes: env.KNOWLEDGE_ROUTES,
      slackAdminUsers: env.SLACK_ADMIN_USERS,
      ...(env.DISCORD_ADMIN_ROLE ? { discordAdminRole: env.DISCORD_ADMIN_ROLE } : {}),
      ...(env.SYNC_INTERVAL !== undefined ? { syncIntervalMs: env.SYNC_INTERVAL } : {}),
      saveToKb: env.SAVE_TO_KB,
      keepAuthorNames: env.SAVE_TO_KB_KEEP_NAMES,
      crawl: {
        maxPages: env.CRAWL_MAX_PAGES,
        maxDepth: env.CRAWL_MAX_DEPTH,
        concurrency: env.CRAWL_CONCURRENCY,
        delayMs: env.CRAWL_DELAY_MS,
        allowPrivate: env.CRAWL_ALLOW_PRIVATE,
      },
    },
    web: {
      enabled: env.WEB_CHAT,
      allowedOrigins: env.WEB_CHAT_ORIGINS,
      ...(env.WEB_CHAT_TOKEN ? { token: env.WEB_CHAT_TOKEN } : {}),
      trustProxy: env.WEB_CHAT_TRUST_PROXY,
    },
    log: { level: env.LOG_LEVEL, format: env.LOG_FORMAT },
    limits: {
      ...(env.REDIS_URL ? { redisURL: env.REDIS_URL } : {}),
      userPerMinute: env.RATE_LIMIT_USER_PER_MINUTE,
      channelPerMinute: env.RATE_LIMIT_CHANNEL_PER_MINUTE,
      maxConcurrentAnswers: env.MAX_CONCURRENT_ANSWERS,
      maxQueuedAnswers: env.MAX_QUEUED_ANSWERS,
      shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    },
    records: { days: env.RECORD_DAYS, keepText: env.RECORD_TEXT },
    digest: {
      schedule: env.DIGEST_SCHEDULE,
      ...(env.DIGEST_SLACK_CHANNEL ? { slackChannel: env.DIGEST_SLACK_CHANNEL } : {}),
      ...(env.DIGEST_DISCORD_CHANNEL ? { discordChannel: env.DIGEST_DISCORD_CHANNEL } : {}),
    },
  };
}

function slackConfig(env: Env): { slack?: SlackConfig } {
  const common: SlackCommonConfig = {
    ...(env.SLACK_SIGNING_SECRET ? { signingSecret: env.SLACK_SIGNING_SECRET } : {}),
    ...(env.SLACK_APP_TOKEN ? { appToken: env.SLACK_APP_TOKEN } : {}),
    ...(env.SLACK_API_URL ? { apiURL: env.SLACK_API_URL } : {}),
    allowedChannels: env.SLACK_ALLOWED_CHANNELS,
    suggestedPrompts: env.SLACK_SUGGESTED_PROMPTS,
    ...(env.ESCALATION_SLACK_GROUP ? { escalationGroup: env.ESCALATION_SLACK_GROUP } : {}),
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
}

/** `.env` + environment → validated config. The one entry point for programs. */
export function loadConfig(): Config {
  loadDotenvFile();
  return parseConfig(process.env);
}
