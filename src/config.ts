/**
 * Configuration from the environment (and `.env` via dotenv), validated once with every
 * problem reported together. Error messages name variables and never echo their values.
 */
import { existsSync } from 'node:fs';
import { config as loadDotenv } from 'dotenv';
import { z } from 'zod';
import { parseRoutes } from './knowledge/collections.js';
import { parseOrigins } from './web/origins.js';

const emptyToUndefined = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

const optionalString = z.preprocess(emptyToUndefined, z.string().trim().optional());
const optionalUrl = (hint: string) =>
  z.preprocess(emptyToUndefined, z.url({ message: `must be a URL (${hint})` }).optional());
const int = (fallback: number, min: number, max: number) =>
  z.preprocess(
    emptyToUndefined,
    z.coerce
      .number({ message: 'must be a whole number' })
      .int({ message: 'must be a whole number' })
      .min(min, { message: `must be at least ${min}` })
      .max(max, { message: `must be at most ${max}` })
      .default(fallback),
  );
const optionalNumber = (min: number, max: number) =>
  z.preprocess(
    emptyToUndefined,
    z.coerce
      .number({ message: 'must be a number' })
      .min(min, { message: `must be at least ${min}` })
      .max(max, { message: `must be at most ${max}` })
      .optional(),
  );
const idList = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .optional()
    .transform((value) =>
      value
        ? value
            .split(',')
            .map((id) => id.trim())
            .filter(Boolean)
        : [],
    ),
);
const prefixed = (prefix: string, what: string) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .trim()
      .refine((value) => value.startsWith(prefix), { message: `must be ${what} (starts with "${prefix}")` })
      .optional(),
  );

const flag = z.preprocess(
  (value) => (typeof value === 'string' ? value.trim().toLowerCase() || undefined : value),
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { message: 'must be true or false' })
    .optional()
    .transform((value) => value === 'true' || value === '1' || value === 'yes' || value === 'on'),
);
const originList = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      try {
        return parseOrigins(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
);

const routes = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      try {
        return parseRoutes(value);
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          message: `must look like C0123=hr,default;T0456=eng: ${(error as Error).message}`,
        });
        return z.NEVER;
      }
    }),
);

const DURATION_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** `6h`, `30m`, `1d`, `90s`; `off`/unset disables. At least a minute. */
const duration = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .trim()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || /^(off|false|0|no)$/i.test(value)) return undefined;
      const match = /^(\d+(?:\.\d+)?)\s*([smhd])$/i.exec(value);
      const ms = match ? Number(match[1]) * DURATION_UNITS[match[2]!.toLowerCase()]! : Number.NaN;
      if (!(ms >= 60_000)) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be a duration of at least a minute, like 6h, 30m or 1d (or off)',
        });
        return z.NEVER;
      }
      return ms;
    }),
);

const schema = z.object({
  GROQ_API_KEY: optionalString,
  GROQ_MODEL: z.preprocess(emptyToUndefined, z.string().trim().default('llama-3.1-8b-instant')),
  /** Model for condensing follow-ups into standalone questions; defaults to GROQ_MODEL. */
  GROQ_CONDENSE_MODEL: optionalString,
  GROQ_BASE_URL: optionalUrl('an OpenAI-compatible API base such as https://api.groq.com'),
  GROQ_TIMEOUT_MS: int(30_000, 1_000, 600_000),
  GROQ_MAX_RETRIES: int(2, 0, 10),
  /** Total time the bot may spend waiting on Groq `retry-after` before telling the user. */
  GROQ_RETRY_BUDGET_MS: int(20_000, 0, 300_000),

  UPSTASH_VECTOR_REST_URL: optionalUrl('the REST URL from the Upstash console'),
  UPSTASH_VECTOR_REST_TOKEN: optionalString,
  UPSTASH_VECTOR_NAMESPACE: z.preprocess(emptyToUndefined, z.string().trim().default('')),

  RAG_TOP_K: int(3, 1, 50),
  /** Passages scoring below this are ignored; default depends on the store. */
  RAG_MIN_SCORE: optionalNumber(0, 1_000),
  RAG_MAX_QUESTION_CHARS: int(2_000, 50, 100_000),
  /** Token budget for history + passages in the answer prompt. */
  RAG_CONTEXT_TOKENS: int(6_000, 500, 120_000),
  RAG_MAX_ANSWER_TOKENS: int(1_024, 64, 32_000),
  RAG_ANSWER_TIMEOUT_MS: int(90_000, 1_000, 900_000),
  /** Folder of the embedded local store. */
  RAG_DATA_DIR: z.preprocess(emptyToUndefined, z.string().default('.rag-data')),
  /** Knowledge folder indexed automatically when the local store is empty. */
  RAG_KNOWLEDGE_DIR: z.preprocess(emptyToUndefined, z.string().default('knowledge')),
  /** Largest file ingestion accepts, in megabytes. */
  INGEST_MAX_FILE_MB: int(20, 1, 2_048),

  DISCORD_TOKEN: optionalString,
  DISCORD_APPLICATION_ID: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .trim()
      .regex(/^\d{15,25}$/, { message: 'must be the numeric application id (a snowflake)' })
      .optional(),
  ),
  DISCORD_GUILD_ID: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .trim()
      .regex(/^\d{15,25}$/, { message: 'must be a numeric guild (server) id' })
      .optional(),
  ),
  DISCORD_API_URL: optionalUrl('a Discord REST API base such as https://discord.com/api'),
  DISCORD_ALLOWED_CHANNELS: idList,
  DISCORD_SHARDS: z.preprocess(
    emptyToUndefined,
    z
      .union([z.literal('auto'), z.coerce.number().int().min(1).max(10_000)], {
        message: 'must be "auto" or a whole number of shards',
      })
      .optional(),
  ),

  SLACK_BOT_TOKEN: prefixed('xoxb-', 'a bot token'),
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_APP_TOKEN: prefixed('xapp-', 'an app-level token'),
  SLACK_API_URL: optionalUrl('a Slack Web API base such as https://slack.com/api/'),
  SLACK_ALLOWED_CHANNELS: idList,

  PORT: int(3000, 0, 65_535),

  /** Which collections each place reads: `C0123=hr,default;T0456=eng`. */
  KNOWLEDGE_ROUTES: routes,
  SLACK_ADMIN_USERS: idList,
  /** A role id or name whose members may run /kb (besides members with Manage Server). */
  DISCORD_ADMIN_ROLE: optionalString,
  SYNC_INTERVAL: duration,
  SAVE_TO_KB: z.preprocess(
    (value) => (typeof value === 'string' ? value.trim().toLowerCase() || undefined : value),
    z.enum(['admins', 'everyone'], { message: 'must be admins or everyone' }).default('admins'),
  ),
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
  WEB_CHAT_TOKEN: z.preprocess(
    emptyToUndefined,
    z.string().trim().min(16, { message: 'must be at least 16 characters long' }).optional(),
  ),
  WEB_CHAT_TRUST_PROXY: flag,
  LOG_LEVEL: z.preprocess(
    emptyToUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  LOG_FORMAT: z.preprocess(emptyToUndefined, z.enum(['json', 'pretty']).default('json')),

  REDIS_URL: optionalUrl('redis://host:6379'),
  RATE_LIMIT_USER_PER_MINUTE: int(10, 0, 10_000),
  RATE_LIMIT_CHANNEL_PER_MINUTE: int(60, 0, 100_000),
  MAX_CONCURRENT_ANSWERS: int(8, 1, 1_000),
  MAX_QUEUED_ANSWERS: int(32, 0, 100_000),
  SHUTDOWN_GRACE_MS: int(20_000, 0, 600_000),
});

/**
 * Rules spanning several variables, checked on the raw environment so they are reported
 * together with field errors (zod skips refinements once a field fails).
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
  if ((set('SLACK_APP_TOKEN') || set('SLACK_SIGNING_SECRET')) && !set('SLACK_BOT_TOKEN')) {
    problems.push(
      'SLACK_BOT_TOKEN is required when other SLACK_ variables are set (OAuth & Permissions → Bot User OAuth Token)',
    );
  }
  if ((set('DISCORD_APPLICATION_ID') || set('DISCORD_GUILD_ID')) && !set('DISCORD_TOKEN')) {
    problems.push(
      'DISCORD_TOKEN is required when other DISCORD_ variables are set (Developer Portal → Bot → Token)',
    );
  }
  return problems;
}

type Env = z.infer<typeof schema>;

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
  readonly discord?: {
    readonly token: string;
    readonly applicationId?: string;
    readonly guildId?: string;
    readonly apiURL?: string;
    readonly allowedChannels: readonly string[];
    readonly shards?: 'auto' | number;
  };
  readonly slack?: {
    readonly botToken: string;
    readonly signingSecret?: string;
    readonly appToken?: string;
    readonly apiURL?: string;
    readonly allowedChannels: readonly string[];
  };
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
  const result = schema.safeParse(source);
  const problems = [
    ...(result.success
      ? []
      : result.error.issues.map((issue) => `${issue.path.join('.') || 'environment'} ${issue.message}`)),
    ...crossFieldProblems(source),
  ];
  if (!result.success || problems.length > 0) throw new ConfigError([...new Set(problems)]);
  const env = result.data;
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
    ...(env.DISCORD_TOKEN
      ? {
          discord: {
            token: env.DISCORD_TOKEN,
            ...(env.DISCORD_APPLICATION_ID ? { applicationId: env.DISCORD_APPLICATION_ID } : {}),
            ...(env.DISCORD_GUILD_ID ? { guildId: env.DISCORD_GUILD_ID } : {}),
            ...(env.DISCORD_API_URL ? { apiURL: env.DISCORD_API_URL } : {}),
            allowedChannels: env.DISCORD_ALLOWED_CHANNELS,
            ...(env.DISCORD_SHARDS !== undefined ? { shards: env.DISCORD_SHARDS } : {}),
          },
        }
      : {}),
    ...(env.SLACK_BOT_TOKEN
      ? {
          slack: {
            botToken: env.SLACK_BOT_TOKEN,
            ...(env.SLACK_SIGNING_SECRET ? { signingSecret: env.SLACK_SIGNING_SECRET } : {}),
            ...(env.SLACK_APP_TOKEN ? { appToken: env.SLACK_APP_TOKEN } : {}),
            ...(env.SLACK_API_URL ? { apiURL: env.SLACK_API_URL } : {}),
            allowedChannels: env.SLACK_ALLOWED_CHANNELS,
          },
        }
      : {}),
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
  };
}

/** `.env` + environment → validated config. The one entry point for programs. */
export function loadConfig(): Config {
  loadDotenvFile();
  return parseConfig(process.env);
}
