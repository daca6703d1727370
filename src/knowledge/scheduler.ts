/**
 * Re-syncs every source (sites, repositories, …) every SYNC_INTERVAL in a running bot. The timer never holds the
 * process open, a sync runs in the background (crawling is I/O; answers go on meanwhile), a
 * tick while one is still running is skipped, and across instances the service's lock lets
 * one sync at a time. Timers are injectable so tests drive ticks themselves.
 */
import type { Logger } from '../log.js';
import { describeSync, type KnowledgeService, SYNC_BUSY, SyncBusyError } from './service.js';

export interface Timers {
  setInterval(run: () => void, ms: number): { unref?(): unknown };
  clearInterval(handle: unknown): void;
}

const systemTimers: Timers = {
  setInterval: (run, ms) => setInterval(run, ms),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

export interface SyncSchedule {
  /** Runs one scheduled sync now (what each tick does); resolves when it is over. */
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
      const sources = service.sources();
      if (sources.length === 0) return;
      try {
        for (const summary of await service.sync(sources)) {
          log.info(
            { source: summary.source.url, collection: summary.source.collection, error: summary.error },
            `scheduled sync: ${
              summary.error === SYNC_BUSY
                ? 'skipped, another sync has it'
                : summary.error
                  ? 'failed'
                  : describeSync(summary)
            }`,
          );
        }
      } catch (error) {
        if (error instanceof SyncBusyError) log.info('scheduled sync skipped: another sync is running');
        else log.error({ err: error }, 'scheduled sync failed');
      }
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  const handle = timers.setInterval(() => void tick(), intervalMs);
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
