/**
 * Which passages a search scores. BM25 ranks every passage holding one of the question's ranking
 * terms; the embedded store's FTS5 index walks all of them from its posting lists, but here each
 * candidate is a row read from the table, so the candidates are bounded. Up to
 * `EXACT_CANDIDATES` passages (counted from the term statistics) every one is scored, exactly as
 * the embedded store ranks: stores of a few thousand passages, and the eval sets, are ranked so. Beyond
 * that (a store of a million passages asked about common words), the candidates are the
 * passages holding the rarest terms, then those holding two of the terms together, which the
 * GIN index intersects without reading a row, the rarest combinations first, up to the budget:
 * a passage with only one common word of the question seldom ranks among the best.
 */

/**
 * Passages scored one by one at most; below this the ranking is exhaustive. Measured at
 * 1,000,000 passages (bench/suites/postgres-store.ts): the top 3 equal the exhaustive ranking's
 * for 299 of 300 questions at 1,000, with a p99 a quarter of 5,000's.
 */
export const EXACT_CANDIDATES = 1_000;
/** A hard limit on the rows one search reads, whatever the estimates said. */
export const MAX_CANDIDATES = 4_000;

export interface Candidates {
  /** A tsquery over the terms (letters and digits only, so quoting is plain). */
  readonly tsquery: string;
  /** Rows read at most. */
  readonly limit: number;
  /** True when every passage holding a ranking term is scored. */
  readonly exhaustive: boolean;
}

const lexeme = (term: string) => `'${term}'`;

export function candidateQuery(
  ranked: readonly string[],
  frequencies: ReadonlyMap<string, number>,
  documents: number,
  budget = EXACT_CANDIDATES,
): Candidates {
  const df = (term: string) => frequencies.get(term) ?? 0;
  const total = ranked.reduce((sum, term) => sum + df(term), 0);
  if (total <= budget) {
    return {
      tsquery: ranked.map(lexeme).join(' | '),
      limit: Math.max(MAX_CANDIDATES, total),
      exhaustive: true,
    };
  }
  const byRarity = [...ranked].sort((a, b) => df(a) - df(b));
  const clauses: string[] = [];
  const alone = new Set<string>();
  let expected = 0;
  for (const term of byRarity) {
    if (expected + df(term) > budget) break;
    clauses.push(lexeme(term));
    alone.add(term);
    expected += df(term);
  }
  // Pairs not already covered by a term taken alone, the rarest (by expected size) first.
  const pairs: { query: string; size: number }[] = [];
  for (let i = 0; i < byRarity.length; i++) {
    for (let j = i + 1; j < byRarity.length; j++) {
      const [a, b] = [byRarity[i]!, byRarity[j]!];
      if (alone.has(a) || alone.has(b)) continue;
      pairs.push({ query: `(${lexeme(a)} & ${lexeme(b)})`, size: (df(a) * df(b)) / Math.max(documents, 1) });
    }
  }
  pairs.sort((x, y) => x.size - y.size);
  for (const pair of pairs) {
    // The rarest pair is scored even when it alone is expected to exceed the budget.
    if (clauses.length > 0 && expected + pair.size > budget) break;
    clauses.push(pair.query);
    expected += pair.size;
  }
  // One term only, and more common than the budget: its passages, as many as the limit allows.
  if (clauses.length === 0) clauses.push(lexeme(byRarity[0]!));
  return { tsquery: clauses.join(' | '), limit: MAX_CANDIDATES, exhaustive: false };
}
