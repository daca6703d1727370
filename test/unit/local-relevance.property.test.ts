/**
 * The embedded store's relevance score: a typing slip in a word the store has never seen still
 * finds that word in a passage, nothing else is treated as a slip, and the names a question
 * writes with capitals are what it is about; a passage alone among results from other
 * documents counts for less than one of the document most results come from.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AGREEMENT_DEPTH,
  AGREEMENT_WEIGHT,
  relevanceScorer,
  withAgreement,
} from '../../src/stores/local/ranking.js';
import {
  asOneWordEach,
  NAME_WEIGHT,
  passageRelevance,
  type TermWeight,
  termWeights,
} from '../../src/stores/local/relevance.js';
import { MAX_MISSPELT_WORDS, misspeltMatches, oneEditApart } from '../../src/stores/local/spelling.js';
import { namedTerms, queryTerms, typedInLowerCase, wordTerms } from '../../src/stores/local/terms.js';

/** Reference: optimal string alignment distance (edits plus swaps of neighbouring letters). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      row[j] = Math.min(
        d[i - 1]![j]! + 1,
        row[j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** Short words over few letters, so one-edit pairs are common. */
const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 7 });

describe('oneEditApart', () => {
  it('is true exactly when one insertion, deletion, substitution or swap turns one word into the other', () => {
    fc.assert(
      fc.property(word, word, (a, b) => {
        expect(oneEditApart(a, b)).toBe(editDistance(a, b) === 1);
      }),
      { numRuns: 3_000 },
    );
  });

  it('knows the usual slips', () => {
    expect(oneEditApart('celeron', 'celoron')).toBe(true); // replaced
    expect(oneEditApart('goovern', 'govern')).toBe(true); // doubled
    expect(oneEditApart('arpnet', 'arpanet')).toBe(true); // dropped
    expect(oneEditApart('gaurantee', 'guarantee')).toBe(true); // swapped
    expect(oneEditApart('govern', 'govern')).toBe(false);
    expect(oneEditApart('format', 'fermata')).toBe(false);
  });
});

describe('misspeltMatches', () => {
  it('maps a passage word to the unseen question word it is one slip from', () => {
    expect(misspeltMatches(['celeron'], ['celoron', 'expedit', 'ohio'])).toEqual(
      new Map([['celoron', 'celeron']]),
    );
  });

  it('leaves short words and numbers alone: they are different words, not slips', () => {
    expect(misspeltMatches(['ratio'], ['ratios'])).toEqual(new Map([['ratios', 'ratio']]));
    expect(misspeltMatches(['rate'], ['late']).size).toBe(0);
    expect(misspeltMatches(['18500'], ['18501']).size).toBe(0);
  });
});

describe('misspeltMatches on hostile questions', () => {
  it('looks at no more than a few unknown words, however many a pasted question holds', () => {
    const unknown = Array.from(
      { length: 5_000 },
      (_, i) =>
        `unknown${'abcdefghij'[i % 10]}${'abcdefghij'[Math.floor(i / 10) % 10]}${'abcdefghij'[Math.floor(i / 100) % 10]}${'abcdefghij'[Math.floor(i / 1000)]}`,
    );
    const slipOf = (word: string) => `${word}s`;
    expect(misspeltMatches(unknown, [slipOf(unknown[0]!)]).size).toBe(1);
    expect(misspeltMatches(unknown, [slipOf(unknown[MAX_MISSPELT_WORDS]!)]).size).toBe(0);
  });
});

describe('passageRelevance', () => {
  const weights: TermWeight[] = [
    { term: 'celeron', weight: 7.6 },
    { term: 'expedit', weight: 4.2 },
  ];

  it('covers a misspelt unseen word where the passage has the right spelling', () => {
    const passage = { body: ['celoron', 'led', 'expedit', 'ohio'], everywhere: [] };
    expect(passageRelevance(weights, ['celeron'], passage)).toBe(1);
  });

  it('does not cover a word the question does not misspell', () => {
    const passage = { body: ['marquett', 'led', 'expedit', 'ohio'], everywhere: [] };
    expect(passageRelevance(weights, ['celeron'], passage)).toBeCloseTo(4.2 / 11.8);
  });

  it('keeps crediting a word the question spells right beside its own slip of it', () => {
    const asked: TermWeight[] = [
      { term: 'train', weight: 2 },
      { term: 'preston', weight: 5 },
      { term: 'prestonn', weight: 7 },
    ];
    const passage = { body: ['train', 'stop', 'preston'], everywhere: [] };
    // "prestonn" is unseen; the passage's "preston" still counts as the question's "preston".
    expect(passageRelevance(asked, ['prestonn'], passage)).toBeCloseTo(7 / 14);
  });

  it('never scores a passage lower for a slip than for an unrelated word', () => {
    fc.assert(
      fc.property(fc.constantFrom('celoron', 'celron', 'cleeron', 'celerons'), (spelling) => {
        const slipped = passageRelevance(weights, ['celeron'], {
          body: [spelling, 'expedit'],
          everywhere: [],
        });
        const unrelated = passageRelevance(weights, ['celeron'], {
          body: ['duquesn', 'expedit'],
          everywhere: [],
        });
        expect(slipped).toBeGreaterThan(unrelated);
      }),
    );
  });
});

describe('queryTerms', () => {
  it('keeps what a question asks about, not the verbs that frame it', () => {
    // "go" weighed more than "secrets" and put a plain question under the floor.
    expect(queryTerms('Where do secrets go?')).toEqual(['secret']);
    expect(queryTerms('Where did the expedition go and what did it get?')).toEqual(['expedit']);
  });
});

describe('namedTerms', () => {
  it('finds the words written with a capital where no sentence begins', () => {
    expect(namedTerms('What is the population of the Greater Los Angeles Area?')).toEqual(
      new Set(['greater', 'los', 'angel', 'area']),
    );
    expect(namedTerms('What does the PDF loader skip? Explain.')).toEqual(new Set(['pdf']));
    expect(namedTerms('Where did "Céloron" bury the plates?')).toEqual(new Set(['celoron']));
    expect(namedTerms('He left. "Then" he came back. (Later) to Fresno.')).toEqual(new Set(['fresno']));
    expect(namedTerms('## Setup\nInstall the app\n- Invite the bot to Slack')).toEqual(new Set(['slack']));
  });

  it('finds none in a question typed in lower case, which is told apart', () => {
    expect(namedTerms('what is the population of the greater los angeles area?').size).toBe(0);
    expect(typedInLowerCase('what is the population of the greater los angeles area?')).toBe(true);
    expect(typedInLowerCase('how do i add the bot to Slack?')).toBe(false);
    expect(typedInLowerCase('Where is Fresno?')).toBe(false);
  });

  it('only ever returns terms of the question', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (question) => {
        const asked = new Set(queryTerms(question));
        for (const term of namedTerms(question)) expect(asked.has(term)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('termWeights', () => {
  it('weighs a name more than the same word unnamed', () => {
    const frequencies = new Map([
      ['popul', 3],
      ['bakersfield', 0],
    ]);
    const [plain] = termWeights(['bakersfield'], frequencies, 500);
    const [named] = termWeights(['bakersfield'], frequencies, 500, new Set(['bakersfield']));
    expect(named!.weight).toBeCloseTo(plain!.weight * NAME_WEIGHT);
  });
});

describe('camel-case words in a question', () => {
  /** How much of `query` a passage of `text` covers, in a store where each term is in 5 of 600 passages. */
  function relevance(query: string, text: string): number {
    const wanted = queryTerms(query);
    const frequencies = new Map(wanted.map((term) => [term, 5]));
    return relevanceScorer(query, wanted, frequencies, 600)({ text, source: 'a.md', metadata: {} });
  }

  it('are told apart with the terms of each', () => {
    expect(wordTerms('How do I set up two-factor authentication in GitHub?')).toEqual([
      ['set'],
      ['two'],
      ['factor'],
      ['authent'],
      ['github', 'git', 'hub'],
    ]);
  });

  it('weigh as one word: a passage naming only "GitHub" covers no more than one naming only "Gitlab"', () => {
    // Before, "GitHub" counted three times (github, git, hub), so a link to GitHub covered most of
    // the question.
    const github = relevance(
      'How do I enable two-factor authentication in GitHub?',
      'Report bugs on GitHub.',
    );
    const gitlab = relevance(
      'How do I enable two-factor authentication in Gitlab?',
      'Report bugs on Gitlab.',
    );
    expect(github).toBeCloseTo(gitlab, 10);
    expect(github).toBeLessThan(0.5);
  });

  it('still find their words written apart', () => {
    expect(relevance('How do I create a WebSocket?', 'create a web socket')).toBeGreaterThan(
      relevance('How do I create a WebSocket?', 'create a socket'),
    );
  });

  it("share out the whole word's weight and leave every other term alone", () => {
    const weights = [
      { term: 'github', weight: 2 },
      { term: 'git', weight: 6 },
      { term: 'hub', weight: 8 },
      { term: 'authent', weight: 5 },
    ];
    const out = asOneWordEach(weights, [['github', 'git', 'hub'], ['authent']]);
    expect(out.slice(0, 3).reduce((sum, { weight }) => sum + weight, 0)).toBeCloseTo(2);
    expect(out[1]!.weight / out[2]!.weight).toBeCloseTo(6 / 8);
    expect(out[3]).toEqual({ term: 'authent', weight: 5 });
    // "git" asked on its own as well keeps its own weight; the rest share what is left.
    const both = asOneWordEach(weights, [['github', 'git', 'hub'], ['git']]);
    expect(both[1]).toEqual({ term: 'git', weight: 6 });
    expect(both[0]!.weight + both[2]!.weight).toBeCloseTo(2);
    // Asked twice, it is still one word.
    const twice = asOneWordEach(weights, [
      ['github', 'git', 'hub'],
      ['github', 'git', 'hub'],
    ]);
    expect(twice.slice(0, 3).reduce((sum, { weight }) => sum + weight, 0)).toBeCloseTo(2);
  });
});

describe('withAgreement', () => {
  const ranked = fc.array(
    fc.record({
      source: fc.constantFrom('a.md', 'b.md', 'c.md', 'd.md'),
      score: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
    { maxLength: 14 },
  );

  it('keeps the ranking and never raises a score', () => {
    fc.assert(
      fc.property(ranked, (passages) => {
        const out = withAgreement(passages);
        expect(out.map((p) => p.source)).toEqual(passages.map((p) => p.source));
        out.forEach((p, i) => {
          expect(p.score).toBeLessThanOrEqual(passages[i]!.score);
          expect(p.score).toBeGreaterThanOrEqual(passages[i]!.score * (1 - AGREEMENT_WEIGHT));
        });
      }),
    );
  });

  it('scores a passage higher the more of the top results its document holds', () => {
    fc.assert(
      fc.property(ranked, (passages) => {
        const out = withAgreement(passages);
        const top = passages.slice(0, AGREEMENT_DEPTH);
        const count = (source: string) => top.filter((p) => p.source === source).length;
        for (let i = 0; i < out.length; i++)
          for (let j = 0; j < out.length; j++)
            if (
              passages[i]!.score === passages[j]!.score &&
              count(passages[i]!.source) > count(passages[j]!.source)
            )
              expect(out[i]!.score).toBeGreaterThan(out[j]!.score - 1e-12);
      }),
    );
  });

  it('leaves a document that fills the results whole and discounts a passage alone among them', () => {
    const guide = Array.from({ length: 9 }, () => ({ source: 'guide.md', score: 0.6 }));
    const out = withAgreement([...guide, { source: 'stray.md', score: 0.6 }]);
    expect(out[0]!.score).toBeCloseTo(0.6 * (1 - AGREEMENT_WEIGHT + AGREEMENT_WEIGHT * 0.9));
    expect(out[9]!.score).toBeCloseTo(0.6 * (1 - AGREEMENT_WEIGHT + AGREEMENT_WEIGHT * 0.1));
    expect(withAgreement(guide).every((p) => Math.abs(p.score - 0.6) < 1e-12)).toBe(true);
  });
});
