/**
 * RECORD_DAYS: records older than that are deleted when the bot starts and once a day after.
 * Every process may sweep; a sweep is one idempotent DELETE, so several never conflict.
 */
import type { Logger } from '../log.js';
import type { AnswerRecords } from './store.js';

export const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionOptions {
  readonly days: number;
  readonly log: Logger;
  readonly now?: () => number;
  /** How often to sweep after the first (default daily). */
  readonly everyMs?: number;
}

/** Deletes what is past retention now; returns how many answers went. */
export function sweepRecords(store: AnswerRecords, days: number, now: number): Promise<number> {
  return store.deleteBefore(now - days * DAY_MS);
}

/** Sweeps now and then on a timer that never keeps the process alive; returns the stop. */
export function startRetention(store: AnswerRecords, options: RetentionOptions): () => void {
  const now = options.now ?? Date.now;
  const sweep = async () => {
    try {
      const removed = await sweepRecords(store, options.days, now());
      if (removed > 0)
        options.log.info({ removed, days: options.days }, 'deleted answer records past retention');
    } catch (error) {
      options.log.warn({ err: error }, 'could not delete old answer records');
    }
  };
  void sweep();
  const timer = setInterval(() => void sweep(), options.everyMs ?? DAY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
