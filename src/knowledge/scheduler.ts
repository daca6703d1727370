/**
 * Re-syncs every source (sites, repositories, …) once per SYNC_INTERVAL in a running bot. Every
 * 15 seconds (or each interval, when shorter) the schedule syncs the sources whose last sync is
 * an interval old, each under its own lock: across every process and host sharing the sources
 * (app.db on one host, PostgreSQL with DATABASE_URL), a source is synced once per interval, and
 * a crawl whose process died is taken over once its lock lapses, within a minute. The timer
 * never holds the process open, a sync runs in the background (crawling is I/O; answers go on
 * meanwhile), and a check while one is still running joins it. Timers are injectable so tests
 * drive checks themselves.
 */
import type { Logger } from '../log.js';
import { describeSync, type KnowledgeService } from './service.js';

export interface Timers {
  setInterval(run: () => void, ms: number): { unref?(): unknown };
  clearInterval(handle: unknown): void;
}

const systemTimers: Timers = {
  setInterval: (run, ms) => setInterval(run, ms),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

/** How often the schedule looks for sources due: a dead process's crawl waits at most this after its lock lapses. */
export const CHECK_EVERY_MS = 15_000;

export interface SyncSchedule {
  /** One check now (what each beat does): syncs the sources due; resolves when it is over. */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

export function startSyncSchedule(
  service: KnowledgeService,
  intervalMs: number,
  log: Logger,
  timers: Timers = systemTimers,
): SyncSchedule {
  let running: Promise<void> | undefined;
  const tick = (): Promise<void> => {
    if (running) return running;
    running = (async () => {
      try {
        for (const summary of await service.syncDue(intervalMs)) {
          log.info(
            { source: summary.source.url, collection: summary.source.collection, error: summary.error },
            `scheduled sync: ${summary.error ? 'failed' : describeSync(summary)}`,
          );
        }
      } catch (error) {
        log.error({ err: error }, 'scheduled sync failed');
      }
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  const handle = timers.setInterval(() => void tick(), Math.min(intervalMs, CHECK_EVERY_MS));
  handle.unref?.();
  log.info({ everyMinutes: Math.round(intervalMs / 60_000) }, 'sources re-sync on a schedule');
  return {
    tick,
    async stop() {
      timers.clearInterval(handle);
      await running;
    },
  };
}
