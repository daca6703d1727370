/**
 * What the web chat can be told, with the defaults it uses otherwise, and the parsing of its
 * two environment variables (WEB_CHAT_ORIGINS, WEB_CHAT_TOKEN) so every entry point reads
 * them alike.
 */
import { ConfigError } from '../config.js';
import type { Answerer } from '../core/types.js';
import type { Logger } from '../log.js';

export interface WebChatLimits {
  /** Largest request body accepted, in bytes. */
  readonly maxBodyBytes: number;
  /** Earlier turns a tab may send with a question. */
  readonly maxHistoryTurns: number;
  /** Characters per earlier turn; the page trims longer answers before sending. */
  readonly maxTurnChars: number;
  /** Questions per client per minute; 0 disables the web chat's own limit. */
  readonly questionsPerMinute: number;
  /** Feedback votes per client per minute; 0 disables the limit. */
  readonly feedbackPerMinute: number;
}

export interface WebChatOptions {
  readonly answerer: Answerer;
  /** Origins (scheme://host[:port]) whose pages may embed the chat with the widget. */
  readonly allowedOrigins?: readonly string[];
  /** When set, the API answers only requests that carry it as a Bearer token. */
  readonly token?: string;
  /**
   * Take the client address from the first X-Forwarded-For entry (behind a trusted reverse
   * proxy); otherwise the socket's address identifies the client.
   */
  readonly trustProxy?: boolean;
  readonly limits?: Partial<WebChatLimits>;
  readonly logger?: Logger;
  /** Milliseconds since the epoch; injected by tests of the rate limits. */
  readonly now?: () => number;
}

export const DEFAULT_LIMITS: WebChatLimits = {
  maxBodyBytes: 128 * 1024,
  maxHistoryTurns: 20,
  maxTurnChars: 4_000,
  questionsPerMinute: 20,
  feedbackPerMinute: 60,
};

/** A single web origin, normalised the way browsers send it in the Origin header. */
export function normaliseOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new Error(`"${value.trim()}" is not an origin like https://docs.example.com`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`"${value.trim()}" must start with https:// or http://`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username) {
    throw new Error(`"${value.trim()}" must be an origin only (scheme://host[:port]), with no path`);
  }
  return url.origin;
}

/** WEB_CHAT_ORIGINS: a comma-separated list of origins; every bad entry is reported. */
export function parseOrigins(value: string | undefined): string[] {
  const entries = (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const problems: string[] = [];
  const origins: string[] = [];
  for (const entry of entries) {
    try {
      origins.push(normaliseOrigin(entry));
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0) throw new Error(`WEB_CHAT_ORIGINS: ${problems.join('; ')}`);
  return [...new Set(origins)];
}

/** The shortest token accepted: a guessable token would make the check pointless. */
export const MIN_TOKEN_LENGTH = 16;

export interface WebChatEnv {
  readonly allowedOrigins: string[];
  readonly token?: string;
}

/** Reads WEB_CHAT_ORIGINS and WEB_CHAT_TOKEN; throws a `ConfigError` naming every problem (never the token). */
export function webChatEnv(env: NodeJS.ProcessEnv = process.env): WebChatEnv {
  const problems: string[] = [];
  let allowedOrigins: string[] = [];
  try {
    allowedOrigins = parseOrigins(env.WEB_CHAT_ORIGINS);
  } catch (error) {
    problems.push((error as Error).message);
  }
  const token = env.WEB_CHAT_TOKEN?.trim() || undefined;
  if (token && token.length < MIN_TOKEN_LENGTH) {
    problems.push(`WEB_CHAT_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters long`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { allowedOrigins, ...(token ? { token } : {}) };
}
