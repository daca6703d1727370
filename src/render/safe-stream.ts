/**
 * Neutralises a streamed answer piece by piece. Text that could still turn into a mention
 * once more arrives (a trailing `@he`, `<`) is held back until it is decided, so what has
 * been sent never needs taking back, and the pieces joined equal the whole text
 * neutralised at once: every character, in order, once.
 */
import type { Neutralizer } from './neutralizer.js';

export class SafeStream {
  private pending = '';
  private raw = '';

  constructor(private readonly neutralizer: Neutralizer) {}

  /** Everything pushed so far, as the author wrote it. */
  get text(): string {
    return this.raw;
  }

  /** Adds the author's next piece; returns the neutralised text now safe to send (maybe ''). */
  push(piece: string): string {
    this.raw += piece;
    this.pending += piece;
    const cut = this.neutralizer.stablePrefix(this.pending);
    if (cut === 0) return '';
    const ready = this.neutralizer.neutralize(this.pending.slice(0, cut));
    this.pending = this.pending.slice(cut);
    return ready;
  }

  /** The author finished: the rest, neutralised. */
  end(): string {
    const rest = this.neutralizer.neutralize(this.pending);
    this.pending = '';
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
