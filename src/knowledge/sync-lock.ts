/**
 * The locks that keep two processes from syncing one source at once, behind one interface (the
 * bot's SQLite database, or PostgreSQL shared by every instance). A lock is taken for a short
 * time and renewed while its sync runs, so one held by a process that died frees itself soon,
 * while a sync that runs long keeps it for as long as it is alive.
 */

export interface SyncLocks {
  /** Takes `name` for `ttlMs` unless another holder's lock is still current. */
  tryLock(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Extends `holder`'s lock on `name` by `ttlMs` from now; false when it no longer holds it. */
  renewLock(name: string, holder: string, ttlMs: number): Promise<boolean>;
  unlock(name: string, holder: string): Promise<void>;
}

export interface HeartbeatTimers {
  setInterval(run: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const systemTimers: HeartbeatTimers = {
  setInterval: (run, ms) => {
    const handle = setInterval(run, ms);
    handle.unref();
    return handle;
  },
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

/**
 * Runs `work` holding `name`, renewed every third of `ttlMs`; undefined (and `work` never run)
 * when another holder has it. Should a renewal find the lock gone (this process stalled past
 * its time to live and another took over), `work`'s signal is aborted so it stops writing.
 */
export async function withLock<T>(
  locks: SyncLocks,
  lock: { readonly name: string; readonly holder: string; readonly ttlMs: number },
  work: (lost: AbortSignal) => Promise<T>,
  timers: HeartbeatTimers = systemTimers,
): Promise<T | undefined> {
  const { name, holder, ttlMs } = lock;
  if (!(await locks.tryLock(name, holder, ttlMs))) return undefined;
  const lost = new AbortController();
  let renewing: Promise<void> | undefined;
  const heartbeat = timers.setInterval(
    () => {
      // One renewal at a time; a slow one is not stacked on.
      renewing ??= locks
        .renewLock(name, holder, ttlMs)
        // The database is busy or gone for a moment: the next beat tries again.
        .catch(() => true)
        .then((held) => {
          if (!held) lost.abort(new Error(`lost the sync lock ${name}`));
        })
        .finally(() => {
          renewing = undefined;
        });
    },
    Math.max(1, Math.floor(ttlMs / 3)),
  );
  try {
    return await work(lost.signal);
  } finally {
    timers.clearInterval(heartbeat);
    await renewing;
    await locks.unlock(name, holder).catch(() => undefined);
  }
}
