/**
 * What is left of a question once characters that are never part of one are gone: control
 * characters (NUL, escapes, C1 controls: PostgreSQL refuses NUL in text, so a recorded question
 * holding one failed to save), and whether anything visible remains (a question of zero-width
 * spaces, direction marks or blank "filler" letters is as empty as one of spaces).
 */

/** C0 and C1 controls other than tab and line breaks. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed.
const CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

/**
 * Ranges of characters that show nothing: zero-width and joiner characters, direction marks
 * and isolates, invisible operators, variation selectors, tag characters, and the blank
 * letters of Hangul and Braille used for empty-looking names. Whitespace is checked apart.
 */
const INVISIBLE: readonly (readonly [number, number])[] = [
  [0x00ad, 0x00ad],
  [0x034f, 0x034f],
  [0x061c, 0x061c],
  [0x115f, 0x1160],
  [0x17b4, 0x17b5],
  [0x180b, 0x180f],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x2060, 0x206f],
  [0x2800, 0x2800],
  [0x3164, 0x3164],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
  [0xffa0, 0xffa0],
  [0xe0000, 0xe007f],
  [0xe0100, 0xe01ef],
];

/** Unicode's own classes of what shows nothing: format characters and default-ignorable ones. */
const IGNORABLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u;

const isInvisible = (char: string, code: number) =>
  IGNORABLE.test(char) || INVISIBLE.some(([from, to]) => code >= from && code <= to);

export function withoutControls(text: string): string {
  return text.replace(CONTROLS, '');
}

export function hasVisibleText(text: string): boolean {
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (char.trim() !== '' && !isInvisible(char, code)) return true;
  }
  return false;
}
