/**
 * The offline answer quotes the line that holds what the question writes as code or a value
 * (`^1.2.3`, `a.b=c`) over lines that only share its parts, because split into words such a
 * literal matches every version or key built from the same pieces.
 */
import { describe, expect, it } from 'vitest';
import type { Passage } from '../../src/core/types.js';
import { literalsOf } from '../../src/generators/extractive.js';
import { offlineAnswer } from '../support/offline-answer.js';

const answer = (question: string, passages: Passage[]) => offlineAnswer(question, passages);

const passage = (id: string, text: string, section: string): Passage => ({
  id,
  text,
  source: 'versions.md',
  score: 1,
  metadata: { section },
});

const caret = passage(
  'caret',
  [
    '## Caret ranges',
    '',
    'A caret range allows changes that do not modify the left-most non-zero part of the version.',
    'When a caret range has a prerelease tag, prereleases of the same version are allowed too.',
    '',
    '* `^1.2.3-beta.2` := `>=1.2.3-beta.2 <2.0.0-0`, and prereleases of `1.2.3` are allowed from `beta.2` on.',
    '* `^0.0.3-beta` := `>=0.0.3-beta <0.0.4-0`, so prereleases of `0.0.3` are allowed.',
    '* `^2.1.3` := `>=2.1.3 <3.0.0-0`',
    '* `^1.2.3` := `>=1.2.3 <2.0.0-0`',
    '* `^1.2.x` := `>=1.2.0 <2.0.0-0`',
    '* `^1.x` := `>=1.0.0 <2.0.0-0`',
    '* `^0.2.3` := `>=0.2.3 <0.3.0-0`',
  ].join('\n'),
  'Ranges › Caret ranges',
);

describe('literals in the question', () => {
  it('are the words written as code or a value, not plain words', () => {
    expect(literalsOf('What range does a caret range like ^1.2.3 allow?')).toEqual(['^1.2.3']);
    expect(literalsOf('How do I let qs parse dotted keys like `a.b=c`, or match *.js?')).toEqual([
      'a.b=c',
      '*.js',
    ]);
    expect(literalsOf("How don't I start a well-known server on port 8080 in 2024?")).toEqual([]);
  });

  it('lead the offline answer to the line that holds them whole', async () => {
    const text = await answer('What range does a caret range like ^1.2.3 allow?', [caret]);
    const quoted = text.split('\n').filter((line) => line.startsWith('* ') || line.startsWith('- '));
    expect(quoted[0]).toBe('* `^1.2.3` := `>=1.2.3 <2.0.0-0` [1]');
  });

  it('count only where they stand whole, not inside a longer token', async () => {
    const text = await answer('What range does a caret range like ^1.2 allow?', [caret]);
    // `^1.2` is written nowhere whole (`^1.2.3`, `^1.2.x` only contain it): the words decide.
    const quoted = text.split('\n').filter((line) => line.startsWith('* ') || line.startsWith('- '));
    expect(quoted[0]).toMatch(/^\* `\^1\.2\.3-beta\.2`/);
  });
});
