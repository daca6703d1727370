/**
 * Streams text into a chat message by editing it, without tripping the platform's edit rate
 * limits: edits are coalesced (only the newest text is sent), never overlap (each waits for
 * the previous one), and start at most once per `intervalMs`. The answer's last write is
 * never held back by the interval: when the model finishes, `flush()` (or the caller's own
 * final write after `settle()`) goes out as soon as the edit under way has finished.
 */

export type EditFn = (text: string) => Promise<void>;

/** Time and timers, injectable so tests drive the throttle without waiting. */
export interface EditClock {
  now(): number;
  /** Runs `run` after `ms`; returns a function that cancels it. */
  after(ms: number, run: () => void): () => void;
}

export const systemClock: EditClock = {
  now: () => Date.now(),
  after(ms, run) {
    const timer = setTimeout(run, ms);
    return () => clearTimeout(timer);
  },
};

export interface ThrottledEditorOptions {
  /** Minimum time between the starts of two edits of the same message. */
  readonly intervalMs: number;
  readonly clock?: EditClock;
}

export class ThrottledEditor {
  private readonly intervalMs: number;
  private readonly clock: EditClock;
  private latest: string | undefined;
  private sent: string | undefined;
  private lastStart = Number.NEGATIVE_INFINITY;
  private cancelTimer: (() => void) | undefined;
  private inFlight: Promise<void> | undefined;
  private failure: unknown;
  private closed = false;
  private edits = 0;

  constructor(
    private readonly edit: EditFn,
    options: ThrottledEditorOptions,
  ) {
    this.intervalMs = options.intervalMs;
    this.clock = options.clock ?? systemClock;
  }

  /** Number of edits sent so far. */
  get editCount(): number {
    return this.edits;
  }

  /** Records the newest full text; an edit follows as soon as the rate allows. */
  update(text: string): void {
    if (this.closed || this.failure !== undefined) return;
    this.latest = text;
    this.schedule();
  }

  /**
   * The text is final: waits for any edit under way, then sends the newest text at once if
   * it was not sent yet. Rethrows the first edit failure, so the caller can fall back.
   */
  async flush(): Promise<void> {
    await this.settle();
    if (this.failure !== undefined) throw this.failure;
    if (this.latest !== undefined && this.latest !== this.sent) {
      await this.send(this.latest);
      if (this.failure !== undefined) throw this.failure;
    }
  }

  /**
   * Stops sending and waits for an edit under way, for a caller that makes the final write
   * itself (e.g. with buttons added) right after. Never throws.
   */
  async settle(): Promise<void> {
    this.cancel();
    await this.inFlight;
  }

  /** Stops without sending anything further (e.g. the answer was abandoned). */
  cancel(): void {
    this.closed = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  private schedule(): void {
    if (this.cancelTimer || this.inFlight) return;
    const wait = Math.max(0, this.lastStart + this.intervalMs - this.clock.now());
    const fire = () => {
      this.cancelTimer = undefined;
      if (this.latest !== undefined && this.latest !== this.sent && !this.closed) void this.send(this.latest);
    };
    if (wait === 0) {
      fire();
      return;
    }
    this.cancelTimer = this.clock.after(wait, fire);
  }

  private send(text: string): Promise<void> {
    this.lastStart = this.clock.now();
    this.edits += 1;
    const inFlight = this.edit(text).then(
      () => {
        this.sent = text;
      },
      (error: unknown) => {
        this.failure ??= error;
      },
    );
    this.inFlight = inFlight;
    void inFlight.finally(() => {
      if (this.inFlight === inFlight) this.inFlight = undefined;
      if (!this.closed && this.failure === undefined && this.latest !== this.sent) this.schedule();
    });
    return inFlight;
  }
}
