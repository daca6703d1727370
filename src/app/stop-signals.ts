/**
 * SIGTERM/SIGINT handling for a long-running process. The first signal starts a graceful stop;
 * a later one, when the operator insists, exits at once. Copies of the first signal that arrive
 * together are not insistence: when a whole process group is signalled (Ctrl-C in a terminal,
 * `kill -- -PGID`) the bot gets the signal from the kernel *and* a forwarded copy from its
 * parent (`npm start` forwards SIGINT and SIGTERM to the script it runs).
 */
export interface StopSignalOptions {
  /** Starts the graceful stop; called once. */
  onStop(signal: NodeJS.Signals): void;
  /** Called when a signal arrives after the duplicate window: stop now. */
  onInsist(signal: NodeJS.Signals): void;
  /** Signals within this long of the first are copies of it. */
  readonly duplicateWindowMs?: number;
  readonly now?: () => number;
}

export function handleStopSignals(options: StopSignalOptions): (signal: NodeJS.Signals) => void {
  const now = options.now ?? Date.now;
  const windowMs = options.duplicateWindowMs ?? 1_500;
  let firstAt: number | undefined;
  return (signal) => {
    if (firstAt === undefined) {
      firstAt = now();
      options.onStop(signal);
    } else if (now() - firstAt > windowMs) {
      options.onInsist(signal);
    }
  };
}

/** Installs the handler for SIGTERM and SIGINT on this process. */
export function onStopSignals(options: StopSignalOptions): void {
  const handler = handleStopSignals(options);
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
