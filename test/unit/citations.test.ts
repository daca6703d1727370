/**
 * Citation markers that name no source are removed from a streamed answer, however the stream
 * is cut, and never inside code; the sources shown are the ones an answer cites.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CitationFilter, citedNumbers } from '../../src/core/citations.js';
import { citedSources, toSources } from '../../src/core/sources.js';
import type { Passage } from '../../src/core/types.js';

function filtered(text: string, sources: number, cuts: readonly number[] = []): string {
  const filter = new CitationFilter(sources);
  let out = '';
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    out += filter.push(text.slice(from, cut));
    from = cut;
  }
  return out + filter.push(text.slice(from)) + filter.end();
}

describe('citation markers', () => {
  it('keep the numbers that name a source and drop the others, with the space before them', () => {
    expect(filtered('Install it [1] and restart [7].', 3)).toBe('Install it [1] and restart.');
    expect(filtered('Both say so [1][2][4].', 2)).toBe('Both say so [1][2].');
    expect(filtered('See [2, 5] and [3,9].', 3)).toBe('See [2] and [3].');
    expect(filtered('[9] Nothing names this.', 3)).toBe(' Nothing names this.');
  });

  it('leave brackets that are not markers, and code, alone', () => {
    const text = [
      'Use `items[7]` or [the guide](https://example.com/7) [x] [ ] [1].',
      '',
      '```js',
      'const last = values[9];',
      '```',
      '',
      '- step [2]',
    ].join('\n');
    expect(filtered(text, 1)).toBe(text.replace(' [2]', ''));
  });

  it('come out the same however the stream is cut', () => {
    const piece = fc.constantFrom('[', ']', '1', '7', ',', ' ', 'a', '`', '```', '\n', '.', '[12]', '[3, 4]');
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 60 }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (parts, sources, rawCuts) => {
          const text = parts.join('');
          const cuts = rawCuts.map((cut) => (text.length === 0 ? 0 : cut % (text.length + 1)));
          const whole = filtered(text, sources);
          expect(filtered(text, sources, cuts)).toBe(whole);
          // Whatever stays cites only sources that exist (outside code: a removal can move a
          // fence to the start of a line, which no real answer does).
          if (!text.includes('`'))
            for (const n of citedNumbers(whole)) expect(n >= 1 && n <= sources).toBe(true);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('the sources shown', () => {
  const passage = (id: string, source: string, section?: string): Passage => ({
    id,
    text: `Text of ${id}.`,
    source,
    title: section ? `Guide › ${section}` : source,
    score: 1,
    metadata: section ? { section, document: 'Guide' } : {},
  });

  it('are the ones the answer cites; the others were only searched', () => {
    const sources = toSources([passage('a', 'a.md'), passage('b', 'b.md'), passage('c', 'c.md')]);
    const { cited, alsoSearched } = citedSources(sources, 'From the first [1] and the third [3].');
    expect(cited.map((s) => s.source)).toEqual(['a.md', 'c.md']);
    expect(alsoSearched.map((s) => s.source)).toEqual(['b.md']);
  });

  it('are all of them when the answer cites none', () => {
    const sources = toSources([passage('a', 'a.md'), passage('b', 'b.md')]);
    expect(citedSources(sources, 'No markers at all.')).toEqual({ cited: sources, alsoSearched: [] });
  });

  it('show two passages of one file as one source listing both sections', () => {
    const sources = toSources([
      { ...passage('a1', 'docs/guide.md', 'Install'), url: 'https://wiki/guide#install' },
      passage('b', 'b.md'),
      { ...passage('a2', 'docs/guide.md', 'Upgrade'), url: 'https://wiki/guide#upgrade' },
    ]);
    expect(sources).toHaveLength(2);
    expect(sources[0]).toMatchObject({
      index: 1,
      title: 'Guide',
      url: 'https://wiki/guide',
      passages: [
        { passageId: 'a1', section: 'Install', url: 'https://wiki/guide#install' },
        { passageId: 'a2', section: 'Upgrade', url: 'https://wiki/guide#upgrade' },
      ],
    });
    expect(sources[1]).toMatchObject({ index: 2, source: 'b.md' });
  });

  it('say where a file lives relative to the folder it was ingested from, never a server path', () => {
    const [recorded, absolute] = toSources([
      { ...passage('a', '/srv/kb/docs/setup.md'), metadata: { location: 'docs/setup.md' } },
      passage('b', '/srv/kb/other/notes.md'),
    ]);
    expect(recorded?.location).toBe('docs/setup.md');
    expect(absolute?.location).toBe('notes.md');
  });
});
