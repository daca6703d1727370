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
}
