/**
 * A token count for prompt budgets without loading a tokenizer (a BPE vocabulary costs tens of
 * MB of memory in every bot process). Text is cut into the pieces that Llama 3's and OpenAI's
 * cl100k tokenizers both start from (words with their leading space, groups of up to three
 * digits, punctuation runs, whitespace runs), and each piece is costed from what those
 * tokenizers do with such pieces.
 *
 * It errs high on purpose, so a budget computed with it is never exceeded. Calibrated against
 * the Llama 3 tokenizer (the default Groq model's) and cl100k on every passage of knowledge/,
 * the README and design notes, 479 SQuAD 2.0 paragraphs and hostile samples (base64, hex, CJK,
 * emoji, code, URLs, numbers, punctuation runs): no sample was under-counted; on average the
 * estimate is 21-26% above the real count for prose and documentation, and up to ~45% above
 * for the hostile samples. test/unit/core.test.ts keeps checking this against Llama 3's tokenizer.
 */

/** The pre-tokenisation both tokenizers use (contractions, words, 1-3 digits, punctuation, spaces). */
const PIECE =
  /'(?:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/giu;
const HAS_LETTER = /\p{L}/u;
const HAS_DIGIT = /\p{N}/u;
const ONLY_SPACE = /^\s+$/;
/** Scripts written without spaces (CJK, kana, Hangul, full-width forms): over one token per character in cl100k. */
const WIDE = /[\u1100-\u11FF\u2E80-\uA4CF\uAC00-\uD7AF\uF900-\uFAFF\uFF00-\uFFEF]/u;

/** Lower-case words up to this length are almost always one token. */
const FREE_LOWER = 6;
/** Capitalised words are names and rarer words: they split sooner. */
const FREE_CAPITAL = 3;
const PER_EXTRA_LOWER = 0.15;
const PER_EXTRA_CAPITAL = 0.2;
/** Random-looking letters (base64, ids) come out at ~1.4 characters a token. */
const PER_RANDOM_LETTER = 1 / 1.3;
const PER_PUNCTUATION = 1 / 2;
const PER_SPACE = 1 / 4;
const WIDE_CHAR = 1.5;
const OTHER_NON_ASCII = 1;
const NON_ASCII_SYMBOL = 2;
/** Emoji and other characters outside the BMP: up to three byte-level tokens each. */
const ASTRAL_CHAR = 3;
/** Safety factor and constant that keep short and unusual texts above the real count. */
const MARGIN = 1.15;
const PER_TEXT = 4;

const VOWELS = 'aeiouyAEIOUY';

function isAsciiLetter(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

function wordCost(piece: string): number {
  let cost = 0;
  let ascii = 0;
  let vowels = 0;
  let switches = 0;
  let capital = false;
  let previousLower = false;
  for (const char of piece) {
    const code = char.codePointAt(0) ?? 0;
    if (code > 0xffff) cost += ASTRAL_CHAR;
    else if (code > 0x7f) cost += WIDE.test(char) ? WIDE_CHAR : OTHER_NON_ASCII;
    else if (isAsciiLetter(code)) {
      ascii += 1;
      const lower = code >= 0x61;
      if (!lower) capital = true;
      if (previousLower && !lower) switches += 1;
      previousLower = lower;
      if (VOWELS.includes(char)) vowels += 1;
    }
  }
  if (ascii === 0) return cost;
  // Case flipping mid-word or hardly any vowels: an identifier or encoded data, not a word.
  const random =
    (ascii >= 4 && switches >= 1 && switches * 4 >= ascii - 4) || (ascii >= 5 && vowels * 6 < ascii);
  if (random) return cost + ascii * PER_RANDOM_LETTER;
  return capital
    ? cost + 1 + Math.max(0, ascii - FREE_CAPITAL) * PER_EXTRA_CAPITAL
    : cost + 1 + Math.max(0, ascii - FREE_LOWER) * PER_EXTRA_LOWER;
}

function symbolCost(piece: string): number {
  let cost = 0;
  let ascii = 0;
  for (const char of piece) {
    const code = char.codePointAt(0) ?? 0;
    if (code > 0xffff) cost += ASTRAL_CHAR;
    else if (code > 0x7f) cost += NON_ASCII_SYMBOL;
    else if (code > 0x20) ascii += 1;
  }
  return Math.max(1, cost + ascii * PER_PUNCTUATION);
}

/** An upper estimate of the tokens `text` takes for Llama 3 and cl100k-style tokenizers. */
export function estimateTokens(text: string): number {
  if (text === '') return 0;
  let total = 0;
  for (const [piece] of text.matchAll(PIECE)) {
    if (HAS_LETTER.test(piece)) total += wordCost(piece);
    else if (HAS_DIGIT.test(piece)) total += 1;
    else if (ONLY_SPACE.test(piece)) total += Math.max(1, piece.length * PER_SPACE);
    else total += symbolCost(piece);
  }
  return Math.ceil(total * MARGIN) + PER_TEXT;
}
