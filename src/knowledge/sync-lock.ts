/**
 * The locks that keep two processes from syncing one source at once, behind one interface (the
 * bot's SQLite database today; any shared database can hold them). A lock is taken for a short
 * time and renewed while its sync runs, so one held by a process that died frees itself soon,
 * while a sync that runs long keeps it for as long as it is alive.
 */

export interface SyncLocks {
  /** Takes `name` for `ttlMs` unless another holder's lock is still current. */
  tryLock(name: string, holder: string, ttlMs: number): boolean;
  /** Extends `holder`'s lock on `name` by `ttlMs` from now; false when it no longer holds it. */
  renewLock(name: string, holder: string, ttlMs: number): boolean;
  unlock(name: string, holder: string): void;
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
  if (!locks.tryLock(name, holder, ttlMs)) return undefined;
  const lost = new AbortController();
  const heartbeat = timers.setInterval(
    () => {
      let held = false;
      try {
        held = locks.renewLock(name, holder, ttlMs);
      } catch {
        // The database is busy or gone for a moment: the next beat tries again.
        held = true;
      }
      if (!held) lost.abort(new Error(`lost the sync lock ${name}`));
    },
    Math.max(1, Math.floor(ttlMs / 3)),
  );
  try {
    return await work(lost.signal);
  } finally {
    timers.clearInterval(heartbeat);
    locks.unlock(name, holder);
  }
}
