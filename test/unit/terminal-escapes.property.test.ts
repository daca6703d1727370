/**
 * The terminal's last filter over rendered text, on any input: only SGR styles and OSC 8 links
 * to web or mail addresses survive, every other control character is gone, and filtering twice
 * changes nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keepRenderedEscapes } from '../../src/cli/terminal-escapes.js';

const ALLOWED =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape sequences are the subject
  /\u001b\[[0-9;:]*m|\u001b\]8;;(?:(?:https?:\/\/|mailto:)[\u0021-\u007e]*?)?(?:\u0007|\u001b\\)/gi;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape sequences are the subject
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

const pieces = fc.constantFrom(
  '\u001b',
  '\u0007',
  '\u009b',
  '\u001b\\',
  '[',
  ']',
  '8;;',
  ']8;;',
  '52;c;',
  '0;',
  '2J',
  '1;31',
  'm',
  ';',
  'https://a.example/',
  'file:///x',
  'mailto:a@b',
  ' ',
  '\n',
  'text',
);
const terminalText = fc
  .array(fc.oneof(pieces, fc.string({ maxLength: 4 })), { maxLength: 60 })
  .map((parts) => parts.join(''));

describe('keepRenderedEscapes', () => {
  it('leaves no control character outside an SGR style or a web or mail OSC 8 link', () => {
    fc.assert(
      fc.property(terminalText, (text) => {
        const kept = keepRenderedEscapes(text);
        expect(CONTROL.test(kept.replace(ALLOWED, ''))).toBe(false);
        expect(keepRenderedEscapes(kept)).toBe(kept);
      }),
      { numRuns: 2_000 },
    );
  });

  it("keeps plain text and the renderer's own sequences as they are", () => {
    const rendered =
      '\u001b[1mBold\u001b[22m and \u001b]8;;https://docs.example.com/x\u0007a link\u001b]8;;\u0007\n\tend';
    expect(keepRenderedEscapes(rendered)).toBe(rendered);
  });

  it('reads a long run of escapes once (no scan restarts)', () => {
    const text = '\u001b]8;;https://a.example/'.repeat(20_000);
    // Every sequence is unterminated: each ESC is dropped and its printable rest kept.
    expect(keepRenderedEscapes(text)).toBe(']8;;https://a.example/'.repeat(20_000));
  });
});
