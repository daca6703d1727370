/**
 * Bolt's own log lines (a failed signature check, a handler error) go through our pino
 * logger, so they are structured and redacted like everything else instead of printed.
 */
import type { LogLevel as BoltLogLevel, Logger as SlackLogger } from '@slack/bolt';
import type { Logger } from '../../log.js';
import { LogLevel } from './bolt.js';

const text = (parts: unknown[]) =>
  parts.map((part) => (part instanceof Error ? part.message : String(part))).join(' ');

/**
 * The Web API client warns on every failed attempt of a request it then retries; the outcome
 * (success, or the error our code reports once) is what matters, so the attempts are debug.
 */
const RETRIED_ATTEMPT = /^http request failed\b/;

export function boltLogger(log: Logger): SlackLogger {
  // Bolt asks for a level; pino's own level decides what is written.
  let level = LogLevel.WARN;
  const child = log.child({ source: 'bolt' });
  return {
    debug: (...parts: unknown[]) => child.debug(text(parts)),
    info: (...parts: unknown[]) => child.info(text(parts)),
    warn: (...parts: unknown[]) =>
      RETRIED_ATTEMPT.test(String(parts[0])) ? child.debug(text(parts)) : child.warn(text(parts)),
    error: (...parts: unknown[]) => child.error(text(parts)),
    setLevel: (next: BoltLogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
