import { describe, expect, it } from 'vitest';
import { candidateQuery } from '../../src/stores/postgres/candidates.js';

const df = (entries: Record<string, number>) => new Map(Object.entries(entries));

describe('which passages a PostgreSQL search scores', () => {
  it('scores every passage holding a ranking term while they fit the budget, as the embedded store does', () => {
    const candidates = candidateQuery(['cabbage', 'kimchi'], df({ cabbage: 40, kimchi: 3 }), 10_000, 100);
    expect(candidates).toMatchObject({ tsquery: "'cabbage' | 'kimchi'", exhaustive: true });
  });

  it('beyond the budget, takes the rarest terms alone and then pairs of the others, rarest first', () => {
    const candidates = candidateQuery(
      ['common', 'rare', 'middle', 'usual'],
      df({ common: 90_000, rare: 300, middle: 40_000, usual: 60_000 }),
      1_000_000,
      5_000,
    );
    expect(candidates.exhaustive).toBe(false);
    // Expected sizes: rare 300, middle & usual 40,000 × 60,000 / 1,000,000 = 2,400; the next pair
    // (middle & common, 3,600) would pass the budget.
    expect(candidates.tsquery).toBe("'rare' | ('middle' & 'usual')");
  });

  it('always scores something: the rarest pair, or the one term asked, when even that is over budget', () => {
    const pair = candidateQuery(['a1', 'b2'], df({ a1: 500_000, b2: 400_000 }), 1_000_000, 1_000);
    expect(pair.tsquery).toBe("('b2' & 'a1')");
    const alone = candidateQuery(['a1'], df({ a1: 500_000 }), 1_000_000, 1_000);
    expect(alone.tsquery).toBe("'a1'");
    expect(alone.limit).toBeLessThan(500_000);
  });
});
