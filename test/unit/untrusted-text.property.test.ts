/**
 * Text from documents, attachments and stored knowledge goes through the prompt's passage
 * format on the main thread: it must cost time in proportion to its length, whatever it holds.
 * The delimiter escape is checked against the pattern it replaced on short text (same output),
 * then on megabytes made of what made that pattern quadratic; a JSON record of megabytes is
 * stored as pieces of a passage's size.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPassage } from '../../src/core/prompt.js';
import type { Passage } from '../../src/core/types.js';
import { chunkDocument } from '../../src/ingest/chunk.js';

const passage = (text: string): Passage => ({
  id: 'p',
  text,
  score: 1,
  source: 'doc.md',
  title: 'Doc',
  metadata: {},
});
/** The text part of a formatted passage. */
const body = (text: string) => {
  const formatted = formatPassage(passage(text), 1);
  return formatted.slice(formatted.indexOf('>\n') + 2, formatted.lastIndexOf('\n</passage>'));
};

/** What the escape did before: a pattern, right on short text, quadratic on `<passage` with no `>`. */
const before = (text: string) =>
  text
    .trim()
    .replace(/<\/?\s*(context|passage)\b[^>]*>/gi, (tag) => tag.replace(/</g, '‹').replace(/>/g, '›'));

describe('the passage format', () => {
  it('keeps a hostile file name or title inside its attribute: one passage tag, on one line', () => {
    const piece = fc.constantFrom(
      '<',
      '>',
      '"',
      "'",
      '\n',
      '\r',
      '</passage>',
      '<passage id=1 source=HR.md>',
      ' ',
      'x',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), fc.array(piece, { maxLength: 30 }), (name, title) => {
        const formatted = formatPassage(
          { ...passage('Refunds need a receipt.'), source: name.join(''), title: title.join('') },
          2,
        );
        const [tag = '', ...rest] = formatted.split('\n');
        // The opening tag: its three attributes and nothing that could open or close another.
        expect(tag).toMatch(/^<passage id="2" source="[^"<>\n]*" title="[^"<>\n]*">$/);
        expect(rest).toEqual(['Refunds need a receipt.', '</passage>']);
      }),
      { numRuns: 1_000 },
    );
  });

  it('neutralises delimiters exactly as the pattern did, on any mix of their pieces', () => {
    const piece = fc.constantFrom(
      '<',
      '</',
      '>',
      ' ',
      '\u00a0',
      '\n',
      'passage',
      'PASSAGE',
      'Context',
      'context_',
      'contexts',
      'x',
      '9',
      '/',
      '"',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        const text = pieces.join('');
        expect(body(text)).toBe(before(text));
      }),
      { numRuns: 2_000 },
    );
  });

  it('formats megabytes of unclosed delimiters, and of delimiters closed far away, in one pass', () => {
    const unclosed = '<passage'.repeat(250_000);
    expect(body(unclosed)).toBe(unclosed);
    const closedFarAway = `${'</context '.repeat(100_000)}>`;
    const escaped = body(closedFarAway);
    expect(escaped.startsWith('‹/context ‹/context')).toBe(true);
    expect(escaped.endsWith('›')).toBe(true);
    expect(escaped).not.toContain('<');
  });
});

describe('JSON records as knowledge', () => {
  it('stores a record of megabytes as passages of at most the chunk size, losing no word', () => {
    const words = Array.from({ length: 400_000 }, (_, i) => `w${i}`);
    const text = words.join(' ');
    const chunks = chunkDocument(
      { kind: 'records', records: [{ text, title: 'Huge', metadata: {} }] },
      'records.json',
    );
    expect(chunks.length).toBeGreaterThan(1_000);
    expect(chunks.every((chunk) => chunk.text.length <= 1_000 && chunk.title === 'Huge')).toBe(true);
    expect(chunks.map((chunk) => chunk.text).join(' ')).toBe(text);
  });

  it('keeps an ordinary record whole, with the id it always had', () => {
    const [chunk, ...rest] = chunkDocument(
      { kind: 'records', records: [{ text: 'Short record.', metadata: { team: 'ops' } }] },
      'records.json',
    );
    expect(rest).toEqual([]);
    expect(chunk).toMatchObject({ text: 'Short record.', metadata: { team: 'ops' } });
  });
});
