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
  /**
   * Length of the longest prefix of `text` whose neutralised form is final whatever text
   * follows: a streamed answer may send `neutralize(text.slice(0, n))` now and the rest later.
   */
  stablePrefix(text: string): number;
}

/** Zero-width space: inserted to break a mention; invisible when rendered. */
export const ZWSP = '\u200b';

/** True when `rest` (after any zero-width spaces) could still grow into one of `words`. */
export function couldBecome(rest: string, words: readonly string[]): boolean {
  const tail = rest.replace(/^\u200b*/, '').toLowerCase();
  return words.some((word) => word.length > tail.length && word.startsWith(tail));
}

/** Backs a cut off a lone high surrogate, so no message ends in half a character. */
export function notInsideSurrogatePair(text: string, cut: number): number {
  const code = text.charCodeAt(cut - 1);
  return cut > 0 && code >= 0xd800 && code <= 0xdbff ? cut - 1 : cut;
}

/** Replaces lone surrogates (half a character) with U+FFFD, as `String#toWellFormed` does. */
export function wellFormed(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}
