/**
 * Structured logging with pino. JSON in production, human-readable with LOG_FORMAT=pretty.
 * Secrets are removed twice over: by field path, and by value wherever a configured
 * secret appears inside a logged string (error messages from SDKs can echo headers).
 */

import { createRequire } from 'node:module';
import { pino } from 'pino';
import { SECRET_VARIABLES } from './config.js';

export type Logger = pino.Logger;

export interface LoggerOptions {
  readonly level?: string;
  readonly format?: 'json' | 'pretty';
  /** File descriptor to write to; 2 (stderr) keeps stdout free for program output. */
  readonly fd?: 1 | 2;
  /** Extra secret values to scrub (tests); configured secrets from the environment are always scrubbed. */
  readonly secrets?: readonly string[];
  /** Write here instead of `fd` (tests, or collecting logs in-process). */
  readonly destination?: pino.DestinationStream;
}

const REDACT_PATHS = [
  'token',
  'apiKey',
  'password',
  'secret',
  'authorization',
  '*.token',
  '*.apiKey',
  '*.password',
  '*.secret',
  '*.authorization',
  'headers.authorization',
  'headers.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  'config.headers.Authorization',
  ...SECRET_VARIABLES,
  ...SECRET_VARIABLES.map((name) => `*.${name}`),
];

const REDACTED = '[redacted]';

/**
 * The forms in which a secret variable's value is used, each of which could reach a log: the
 * value as written, trimmed (configuration trims it), and each token of a list of `host=token`
 * entries (GIT_HOST_TOKENS), with the password of a `user:password` token on its own.
 */
function secretForms(value: string): string[] {
  const forms = [value, value.trim()];
  // A URL's query (DATABASE_URL's `?sslmode=require`) is not a list of tokens.
  if (value.includes('=') && !value.includes('://')) {
    for (const entry of value.split(',')) {
      const token = entry.slice(entry.indexOf('=') + 1).trim();
      forms.push(token, token.slice(token.indexOf(':') + 1));
    }
  }
  return forms;
}

function secretValues(extra: readonly string[] = []): string[] {
  const fromEnv = SECRET_VARIABLES.flatMap((name) => {
    const value = process.env[name];
    return typeof value === 'string' ? secretForms(value) : [];
  });
  // Longest first, so a whole value is replaced before a piece of it leaves the rest behind.
  return [...new Set([...fromEnv, ...extra].filter((value) => value.length >= 6))].sort(
    (a, b) => b.length - a.length,
  );
}

/** Interaction and webhook tokens travel in Discord URLs; they let anyone post as the bot for 15 minutes. */
const URL_TOKENS = /(\/(?:webhooks|interactions)\/\d+\/)[\w.-]{16,}/g;

/**
 * Slack tokens of every shape (bot, user, app, refresh): the workspaces' own tokens, installed
 * by OAuth, are nobody's configured secret, so they are recognised by their prefix instead.
 */
const SLACK_TOKENS = /\bxox[a-z](?:\.xox[a-z])?-[\w-]+/g;
/** OAuth secrets by field name, as SDKs print request bodies (`"client_secret":"…"`, `client_secret=…`). */
const OAUTH_FIELDS = /("?(?:client_secret|refresh_token|access_token)"?\s*[:=]\s*"?)[^"&,\s}]+/g;

/** Replaces every occurrence of a secret value inside strings, recursively. */
export function scrubSecrets<T>(value: T, secrets: readonly string[], depth = 0): T {
  if (depth > 6) return value;
  if (typeof value === 'string') {
    let out: string = value
      .replace(URL_TOKENS, `$1${REDACTED}`)
      .replace(SLACK_TOKENS, REDACTED)
      .replace(OAUTH_FIELDS, `$1${REDACTED}`);
    for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out as T;
  }
  if (Array.isArray(value)) return value.map((item) => scrubSecrets(item, secrets, depth + 1)) as T;
  if (value instanceof Error) {
    const scrubbed = new Error(scrubSecrets(value.message, secrets));
    scrubbed.name = value.name;
    if (value.stack) scrubbed.stack = scrubSecrets(value.stack, secrets);
    return scrubbed as T;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = scrubSecrets(item, secrets, depth + 1);
    return out as T;
  }
  return value;
}

/**
 * The log format of a long-running process: LOG_FORMAT when it is set, else readable lines on
 * a terminal (a person is watching) and JSON elsewhere (a collector is).
 */
export function logFormat(configured: 'json' | 'pretty', stream: { isTTY?: boolean } = process.stderr) {
  if (process.env.LOG_FORMAT?.trim()) return configured;
  return stream.isTTY ? 'pretty' : 'json';
}

/** `text` with every configured secret (and anything shaped like a token) replaced, for output outside the logger. */
export function redactSecrets(text: string): string {
  return scrubSecrets(text, secretValues());
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = secretValues(options.secrets);
  const fd = options.fd ?? 2;
  const opts: pino.LoggerOptions = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { app: 'rag-chat-bot' },
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((arg) => scrubSecrets(arg, secrets)) as Parameters<typeof method>);
      },
    },
    serializers: { err: pino.stdSerializers.err },
  };
  if ((options.format ?? process.env.LOG_FORMAT) === 'pretty') {
    // Loaded only when asked for: production logs JSON and need not pay ~10 MB for it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return pino(
      opts,
      pretty({
        destination: options.destination ?? fd,
        sync: true,
        colorize: !options.destination && process.stderr.isTTY,
      }),
    );
  }
  return pino(opts, options.destination ?? pino.destination({ fd, sync: false }));
}

/** A logger that writes nothing, for tests and library defaults. */
export const silentLogger: Logger = pino({ level: 'silent' });
