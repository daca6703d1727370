/**
 * reStructuredText from a Git repository is read in time proportional to its length, whatever
 * markup it repeats. Work is counted, never timed: the characters each `indexOf` or `lastIndexOf` reads (to its
 * match, or to the end of the text when it finds none), the searches the converter makes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rstToMarkdown } from '../../src/ingest/formats/rst.js';

function countSearches(work: () => void): number {
  const { indexOf, lastIndexOf } = String.prototype;
  let count = 0;
  String.prototype.indexOf = function (this: string, needle: string, from?: number) {
    const start = Math.max(0, from ?? 0);
    const found = indexOf.call(this, needle, from);
    count += 1 + (found === -1 ? Math.max(0, this.length - start) : found - start + needle.length);
    return found;
  };
  String.prototype.lastIndexOf = function (this: string, needle: string, from?: number) {
    const start = Math.min(this.length, from ?? this.length);
    const found = lastIndexOf.call(this, needle, from);
    count += 1 + (found === -1 ? start : start - found);
    return found;
  };
  try {
    work();
  } finally {
    String.prototype.indexOf = indexOf;
    String.prototype.lastIndexOf = lastIndexOf;
  }
  return count;
}

/** Work for the motif repeated n and 4n times: linear work grows about 4-fold, quadratic 16-fold. */
function growth(motif: string, n: number): number {
  const small = countSearches(() => rstToMarkdown(motif.repeat(n)));
  const large = countSearches(() => rstToMarkdown(motif.repeat(4 * n)));
  return large / Math.max(1, small);
}

const markup = fc.constantFrom(
  ':',
  '`',
  '``',
  '_',
  '<',
  '>',
  ' ',
  'a',
  ':a:`',
  '.. note::',
  '\n',
  '   ',
  '::',
  '*',
);

describe('reading reStructuredText', () => {
  it('reads a line of colons, and directives whose body is one long line, in linear work', () => {
    // 80,000 colons took 27 s: every colon searched the rest of the line for a role's end.
    expect(growth(':', 5_000)).toBeLessThan(6.5);
    expect(growth('.. note::\n   ', 500)).toBeLessThan(6.5);
    expect(growth(':a', 5_000)).toBeLessThan(6.5);
  });

  it('grows linearly with the text for any repeated pattern of markup (property)', () => {
    fc.assert(
      fc.property(fc.array(markup, { minLength: 1, maxLength: 12 }), (parts) => {
        const motif = parts.join('');
        expect(growth(motif, Math.ceil(4_000 / motif.length))).toBeLessThan(6.5);
      }),
      { numRuns: 60 },
    );
  });
});
