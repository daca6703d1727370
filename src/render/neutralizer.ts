/**
 * What every platform's mention neutraliser offers. Neutralising turns text we did not write
 * (the model's answer, document titles, file names, a user's question) into text that renders
 * the same to a reader but can never notify anyone. It is a pure, reversible rewrite:
 * `restore(neutralize(text)) === text`, so nothing the author wrote is lost or reordered.
 */
export interface Neutralizer {
  neutralize(text: string): string;
  /** The exact inverse of `neutralize`: the author's text back (used by tests and logs). */
  restore(neutralized: string): string;
  /** A fresh hold-back for one stream of text. */
  holdBack(): HoldBack;
}

/**
 * Decides, as a stream's pieces arrive, how much of it is final: a prefix whose neutralised
 * form no later text can change, so `neutralize(prefix)` may be sent now and the rest
 * neutralised later, the two joined equal to the whole neutralised at once.
 */
export interface HoldBack {
  /** Reads the next piece; returns how many code units of all read so far are final (never fewer than before). */
  read(piece: string): number;
  /** Characters examined so far, for tests that check the work stays linear in the text's length. */
  readonly examined: number;
}

/** Zero-width space: inserted to break a mention; invisible when rendered. */
export const ZWSP = '\u200b';

/**
 * The part every hold-back shares: each character is examined once, when it is read, by the
 * platform's `step`, which keeps whatever it needs about the one mention that may still be
 * forming. So what is held back is that mention (and the opener whose meaning it decides),
 * never a whole run of `<`, `(` or `]`, and a stream costs time linear in its length however
 * its pieces fall. A piece never ends between the two halves of a character (a surrogate pair).
 */
export abstract class StreamHoldBack implements HoldBack {
  private count = 0;
  private length = 0;
  private endsInHighSurrogate = false;

  get examined(): number {
    return this.count;
  }

  read(piece: string): number {
    for (let i = 0; i < piece.length; i++) {
      this.step(piece[i]!, this.length);
      this.length++;
      this.count++;
    }
    if (piece.length > 0) {
      const code = piece.charCodeAt(piece.length - 1);
      this.endsInHighSurrogate = code >= 0xd800 && code <= 0xdbff;
    }
    // A held part starts at a character a mention can start with, never the second half of a
    // pair; the end can be the first half, whose second is still to come.
    return this.heldFrom() ?? (this.endsInHighSurrogate ? this.length - 1 : this.length);
  }

  /** Reads the character at position `at` of the stream. */
  protected abstract step(c: string, at: number): void;

  /** Where the undecided text begins, if any is. */
  protected abstract heldFrom(): number | undefined;
}

/** What a character that could start a mention turned out to be, as far as has been read. */
export type Decision = 'open' | 'mention' | 'text';

/**
 * Follows an `@` through the zero-width spaces and letters after it while they could still
 * spell one of `words`. Letters compare case-insensitively in ASCII only, as the neutralisers'
 * `/i` patterns without the `u` flag do (no other character folds to an ASCII letter there).
 */
export class MassMention {
  private typed = '';

  constructor(
    readonly at: number,
    private readonly words: readonly string[],
  ) {}

  /** Reads the next character after the `@`. */
  next(c: string): Decision {
    if (c === ZWSP && this.typed === '') return 'open';
    const code = c.charCodeAt(0);
    const typed = this.typed + (code >= 0x41 && code <= 0x5a ? String.fromCharCode(code + 32) : c);
    let open = false;
    for (const word of this.words) {
      if (word === typed) return 'mention';
      if (word.startsWith(typed)) open = true;
    }
    this.typed = typed;
    return open ? 'open' : 'text';
  }
}

/** Replaces lone surrogates (half a character) with U+FFFD, as `String#toWellFormed` does. */
export function wellFormed(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}
