/**
 * Streams text into a chat message by editing it, without tripping the platform's edit rate
 * limits: edits are coalesced (only the newest text is sent), never overlap (each waits for
 * the previous one), and start at most once per `intervalMs`. `flush()` sends the final text.
 */

export type EditFn = (text: string) => Promise<void>;

export interface ThrottledEditorOptions {
  /** Minimum time between the starts of two edits of the same message. */
  readonly intervalMs: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

export class ThrottledEditor {
  private readonly intervalMs: number;
  private readonly now: () => number;
  private latest: string | undefined;
  private sent: string | undefined;
  private lastStart = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private failure: unknown;
  private closed = false;
  private edits = 0;

  constructor(
    private readonly edit: EditFn,
    options: ThrottledEditorOptions,
  ) {
    this.intervalMs = options.intervalMs;
    this.now = options.now ?? Date.now;
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
   * Waits for any edit under way, then sends the newest text if it was not sent yet.
   * Rethrows the first edit failure, so the caller can fall back (e.g. post a new message).
   */
  async flush(): Promise<void> {
    this.clearTimer();
    this.closed = true;
    await this.inFlight;
    if (this.failure !== undefined) throw this.failure;
    if (this.latest !== undefined && this.latest !== this.sent) {
      const wait = this.lastStart + this.intervalMs - this.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await this.send(this.latest);
      if (this.failure !== undefined) throw this.failure;
    }
  }

  /**
   * Stops sending, waits for an edit under way, then until the rate allows another edit:
   * for a caller that makes the final edit itself (e.g. with buttons added). Never throws.
   */
  async settle(): Promise<void> {
    this.cancel();
    await this.inFlight;
    const wait = this.lastStart + this.intervalMs - this.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  /** Stops without sending anything further (e.g. the answer was abandoned). */
  cancel(): void {
    this.closed = true;
    this.clearTimer();
  }

  private schedule(): void {
    if (this.timer || this.inFlight) return;
    const wait = Math.max(0, this.lastStart + this.intervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.latest !== undefined && this.latest !== this.sent && !this.closed) void this.send(this.latest);
    }, wait);
  }

  private send(text: string): Promise<void> {
    this.lastStart = this.now();
    this.edits += 1;
    this.inFlight = this.edit(text).then(
      () => {
        this.sent = text;
      },
      (error: unknown) => {
        this.failure ??= error;
      },
    );
    void this.inFlight.finally(() => {
      this.inFlight = undefined;
      if (!this.closed && this.failure === undefined && this.latest !== this.sent) this.schedule();
    });
    return this.inFlight;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
