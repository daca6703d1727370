/**
 * Characterisation of `parseConfig`: many environments (every variable with every probe value,
 * cross-field combinations, blanks, case variants, seeded random mixes) and what the parser made
 * of each, either the configuration (as its differences from the defaults) or the problems.
 * `test/fixtures/config-characterisation.json` was written by this module from the single-file
 * schema, before the variables moved beside their areas; the test replays it on today's code.
 */
import { ConfigError, parseConfig } from '../../src/config.js';

/** What the parser made of one environment. */
export type Outcome =
  | { readonly config: Readonly<Record<string, string>> }
  | { readonly problems: readonly string[] };

export interface ConfigFixture {
  readonly variables: readonly string[];
  readonly probes: readonly string[];
  readonly defaults: Readonly<Record<string, string>>;
  /** Distinct outcomes; cases refer to them by index. */
  readonly outcomes: readonly Outcome[];
  /** Variable → outcome index for each probe value set alone. */
  readonly single: Readonly<Record<string, readonly number[]>>;
  readonly combos: readonly { readonly env: Readonly<Record<string, string>>; readonly outcome: number }[];
}

/** Every variable the single-file schema read, in its order. */
export const VARIABLES = [
  'GROQ_API_KEY',
  'GROQ_MODEL',
  'GROQ_CONDENSE_MODEL',
  'GROQ_BASE_URL',
  'GROQ_TIMEOUT_MS',
  'GROQ_MAX_RETRIES',
  'GROQ_RETRY_BUDGET_MS',
  'UPSTASH_VECTOR_REST_URL',
  'UPSTASH_VECTOR_REST_TOKEN',
  'UPSTASH_VECTOR_NAMESPACE',
  'RAG_TOP_K',
  'RAG_MIN_SCORE',
  'RAG_MAX_QUESTION_CHARS',
  'RAG_CONTEXT_TOKENS',
  'RAG_MAX_ANSWER_TOKENS',
  'RAG_ANSWER_TIMEOUT_MS',
  'RAG_DATA_DIR',
  'RAG_KNOWLEDGE_DIR',
  'INGEST_MAX_FILE_MB',
  'ATTACHMENT_MAX_MB',
  'ATTACHMENT_MAX_TOKENS',
  'DISCORD_TOKEN',
  'DISCORD_APPLICATION_ID',
  'DISCORD_GUILD_ID',
  'DISCORD_API_URL',
  'DISCORD_ALLOWED_CHANNELS',
  'DISCORD_SHARDS',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
  'SLACK_API_URL',
  'SLACK_ALLOWED_CHANNELS',
  'SLACK_CLIENT_ID',
  'SLACK_CLIENT_SECRET',
  'SLACK_STATE_SECRET',
  'SLACK_INSTALLATION_KEY',
  'SLACK_SUGGESTED_PROMPTS',
  'PORT',
  'KNOWLEDGE_ROUTES',
  'SLACK_ADMIN_USERS',
  'DISCORD_ADMIN_ROLE',
  'SYNC_INTERVAL',
  'SAVE_TO_KB',
  'SAVE_TO_KB_KEEP_NAMES',
  'CRAWL_MAX_PAGES',
  'CRAWL_MAX_DEPTH',
  'CRAWL_CONCURRENCY',
  'CRAWL_DELAY_MS',
  'CRAWL_ALLOW_PRIVATE',
  'WEB_CHAT',
  'WEB_CHAT_ORIGINS',
  'WEB_CHAT_TOKEN',
  'WEB_CHAT_TRUST_PROXY',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'REDIS_URL',
  'RATE_LIMIT_USER_PER_MINUTE',
  'RATE_LIMIT_CHANNEL_PER_MINUTE',
  'MAX_CONCURRENT_ANSWERS',
  'MAX_QUEUED_ANSWERS',
  'SHUTDOWN_GRACE_MS',
  'RECORD_DAYS',
  'RECORD_TEXT',
  'ESCALATION_SLACK_GROUP',
  'ESCALATION_DISCORD_ROLE',
  'DIGEST_SLACK_CHANNEL',
  'DIGEST_DISCORD_CHANNEL',
  'DIGEST_SCHEDULE',
] as const;

const KEY = 'vPv+l4HCTyL8jrJQ6PnTgjyYmYb+8gijdD3/m5q1dj0=';
const KEY_URL_SAFE = 'RQI3R1d9YYWkLxMv_X1JS0vai97IVArjBTsB2BsIfco';

/** Values tried on every variable: valid for some, wrong for others, blanks and case variants. */
export const PROBES = [
  '',
  '   ',
  'abc',
  '0',
  '1',
  '-1',
  '1.5',
  ' 5 ',
  '1e3',
  '0x10',
  '99999999',
  'true',
  'FALSE',
  ' Yes ',
  'off',
  'auto',
  'AUTO',
  'https://example.com',
  ' https://ex\tample.com/api ',
  'not a url',
  'ftp://files.example',
  'xoxb-1-2-abc',
  'xapp-1-A-1-abc',
  '123456789012345678',
  'S0123ABC',
  'C0123ABC',
  'G0123',
  's0123abc',
  '6h',
  '30s',
  '1.5D',
  '90s',
  'weekly',
  'DAILY',
  'Everyone',
  'pretty',
  'Info',
  'C0123=hr,default;T0456=eng',
  'C0123=Bad Name!',
  'x=y=z',
  '12345.67890',
  'sixteen-chars-ok',
  KEY,
  `${KEY}, ${KEY_URL_SAFE}`,
  'short-key',
  'https://a.example, http://b.example:8080/',
  'https://a.example/path',
  'Hi|Hello;Two|Second',
  'only-title',
  '1|2;3|4;5|6;7|8;9|10',
  'a, b ,,c',
  ' folder with spaces ',
];

/** A valid value for each variable that needs one to be switched on. */
const VALID: Record<string, string> = {
  GROQ_API_KEY: 'gsk_example',
  UPSTASH_VECTOR_REST_URL: 'https://example-vector.upstash.io',
  UPSTASH_VECTOR_REST_TOKEN: 'upstash-token',
  DISCORD_TOKEN: 'discord-token',
  DISCORD_APPLICATION_ID: '123456789012345678',
  DISCORD_GUILD_ID: '223456789012345678',
  SLACK_BOT_TOKEN: 'xoxb-1-2-abc',
  SLACK_SIGNING_SECRET: 'signing-secret',
  SLACK_APP_TOKEN: 'xapp-1-A-1-abc',
  SLACK_CLIENT_ID: '12345.67890',
  SLACK_CLIENT_SECRET: 'client-secret',
  SLACK_STATE_SECRET: 'state-secret-of-16+',
  SLACK_INSTALLATION_KEY: KEY,
  ESCALATION_SLACK_GROUP: 'S0123ABC',
  ESCALATION_DISCORD_ROLE: '323456789012345678',
  DIGEST_SLACK_CHANNEL: 'C0DIGEST',
  DIGEST_DISCORD_CHANNEL: '423456789012345678',
};

/** Every subset of `names`, each set to its valid value. */
function subsets(names: readonly string[], extra: Record<string, string> = {}): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (let mask = 0; mask < 1 << names.length; mask += 1) {
    const env: Record<string, string> = { ...extra };
    names.forEach((name, i) => {
      if (mask & (1 << i)) env[name] = VALID[name] ?? 'value';
    });
    out.push(env);
  }
  return out;
}

/** A small seeded generator, so the random mixes are the same on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Environments spanning several variables. */
export function comboEnvironments(): Record<string, string>[] {
  const envs: Record<string, string>[] = [
    ...subsets(['UPSTASH_VECTOR_REST_URL', 'UPSTASH_VECTOR_REST_TOKEN', 'UPSTASH_VECTOR_NAMESPACE']),
    ...subsets([
      'SLACK_BOT_TOKEN',
      'SLACK_APP_TOKEN',
      'SLACK_SIGNING_SECRET',
      'SLACK_CLIENT_ID',
      'SLACK_CLIENT_SECRET',
      'SLACK_STATE_SECRET',
      'SLACK_INSTALLATION_KEY',
    ]),
    ...subsets([
      'ESCALATION_SLACK_GROUP',
      'DIGEST_SLACK_CHANNEL',
      'ESCALATION_DISCORD_ROLE',
      'DIGEST_DISCORD_CHANNEL',
      'SLACK_BOT_TOKEN',
      'DISCORD_TOKEN',
    ]),
    ...subsets(['DISCORD_TOKEN', 'DISCORD_APPLICATION_ID', 'DISCORD_GUILD_ID', 'DISCORD_API_URL']),
    ...subsets(['GROQ_API_KEY', 'GROQ_MODEL', 'GROQ_CONDENSE_MODEL']),
    // Blanks count as unset in cross-field rules too.
    { UPSTASH_VECTOR_REST_URL: VALID.UPSTASH_VECTOR_REST_URL!, UPSTASH_VECTOR_REST_TOKEN: '  ' },
    { SLACK_BOT_TOKEN: ' ', SLACK_SIGNING_SECRET: 'signing-secret' },
    { DISCORD_TOKEN: '', DISCORD_GUILD_ID: VALID.DISCORD_GUILD_ID! },
    { SLACK_CLIENT_ID: ' ', SLACK_CLIENT_SECRET: 'x' },
    // Invalid values beside cross-field problems: both kinds are reported together.
    { SLACK_BOT_TOKEN: 'xoxp-user', UPSTASH_VECTOR_REST_URL: 'nope', RAG_TOP_K: 'three', PORT: '70000' },
    { SLACK_CLIENT_ID: 'abc', SLACK_INSTALLATION_KEY: 'short', SLACK_STATE_SECRET: 'short' },
    { SLACK_CLIENT_ID: 'abc', SLACK_APP_TOKEN: 'xoxb-wrong', SLACK_BOT_TOKEN: 'xapp-wrong' },
    { DISCORD_APPLICATION_ID: 'x', DISCORD_SHARDS: '0', ESCALATION_DISCORD_ROLE: 'role' },
    { DIGEST_SLACK_CHANNEL: 'D0123', DIGEST_SCHEDULE: 'hourly', RECORD_DAYS: '0' },
    // Names are case-sensitive: lower-case names are not our variables.
    { slack_bot_token: 'xoxb-1-2-abc', groq_model: 'other', Port: 'x', rag_top_k: '0' },
  ];
  const random = seeded(18_13);
  for (let i = 0; i < 400; i += 1) {
    const env: Record<string, string> = {};
    const count = 1 + Math.floor(random() * 8);
    for (let j = 0; j < count; j += 1) {
      const name = VARIABLES[Math.floor(random() * VARIABLES.length)]!;
      const useValid = random() < 0.4 && VALID[name] !== undefined;
      env[name] = useValid ? VALID[name]! : PROBES[Math.floor(random() * PROBES.length)]!;
    }
    envs.push(env);
  }
  return envs;
}

/** A configuration as path → JSON text, so two can be compared and a difference named. */
function flatten(value: unknown, path: string, out: Record<string, string>): Record<string, string> {
  if (value instanceof Map) {
    out[path] = `Map ${JSON.stringify([...value.entries()])}`;
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, path ? `${path}.${key}` : key, out);
  } else {
    out[path] = value === undefined ? 'undefined' : JSON.stringify(value);
  }
  return out;
}

export const flatConfig = (env: Record<string, string>): Record<string, string> =>
  flatten(parseConfig(env), '', {});

/** The configuration's differences from the defaults (`<absent>` for a default key it lacks). */
export function outcomeOf(env: Record<string, string>, defaults: Record<string, string>): Outcome {
  let flat: Record<string, string>;
  try {
    flat = flatConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { problems: error.problems };
  }
  const config: Record<string, string> = {};
  for (const [path, value] of Object.entries(flat)) if (defaults[path] !== value) config[path] = value;
  for (const path of Object.keys(defaults)) if (!(path in flat)) config[path] = '<absent>';
  return { config };
}
