/**
 * Neutralises a streamed answer piece by piece. Text that could still turn into a mention
 * once more arrives (a trailing `@he`, `<`) is held back until it is decided, so what has
 * been sent never needs taking back, and the pieces joined equal the whole text
 * neutralised at once: every character, in order, once. The neutraliser's hold-back reads
 * each character once and says how much is decided; only the held text is kept, and only
 * what is newly decided is neutralised, so the work is linear in the answer's length.
 */
import type { HoldBack, Neutralizer } from './neutralizer.js';

export class SafeStream {
  private holdBack: HoldBack;
  /** Read but not yet sent, as the author wrote it. */
  private held = '';
  /** How much of what the hold-back has read is sent (it counts from the last `end`). */
  private sent = 0;
  private raw = '';

  constructor(private readonly neutralizer: Neutralizer) {
    this.holdBack = neutralizer.holdBack();
  }

  /** Everything pushed so far, as the author wrote it. */
  get text(): string {
    return this.raw;
  }

  /** Characters the hold-back has examined, for tests that check the work stays linear. */
  get examined(): number {
    return this.holdBack.examined;
  }

  /** Adds the author's next piece; returns the neutralised text now safe to send (maybe ''). */
  push(piece: string): string {
    this.raw += piece;
    this.held += piece;
    const decided = this.holdBack.read(piece);
    if (decided <= this.sent) return '';
    const ready = this.held.slice(0, decided - this.sent);
    this.held = this.held.slice(decided - this.sent);
    this.sent = decided;
    return this.neutralizer.neutralize(ready);
  }

  /** The author finished: the rest, neutralised. */
  end(): string {
    const rest = this.neutralizer.neutralize(this.held);
    this.held = '';
    this.sent = 0;
    this.holdBack = this.neutralizer.holdBack();
    return rest;
  }

  /**
   * The author finished with `full`, the whole text, which should extend what was pushed: the
   * rest, neutralised. `diverged` says `full` did not extend it (what streamed is kept).
   */
  finish(full: string | undefined): { readonly rest: string; readonly diverged: boolean } {
    let rest = '';
    const diverged = full !== undefined && full !== this.raw && !full.startsWith(this.raw);
    if (full !== undefined && !diverged) rest = this.push(full.slice(this.raw.length));
    return { rest: rest + this.end(), diverged };
  }
}
