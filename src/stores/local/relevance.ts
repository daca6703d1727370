/**
 * The "is this in the knowledge base at all?" score: how much of the question's information a
 * passage covers. Each question term weighs its inverse document frequency, so a passage that
 * shares only "population" and "area" with "What is the population of the Greater Los Angeles
 * Area?" covers little of it (the rare "angeles", absent from the store, carries most of the
 * weight), while one about Los Angeles covers most. A raw share of words would call both half
 * relevant. The floor on this score is calibrated on data (eval/RESULTS.md).
 */
import { misspeltMatches } from './spelling.js';
import { namedTerms, queryTerms, terms, typedInLowerCase, wordTerms } from './terms.js';

/** BM25's inverse document frequency; a term no passage contains gets the highest weight. */
export function inverseDocumentFrequency(documentFrequency: number, documents: number): number {
  return Math.log(1 + (documents - documentFrequency + 0.5) / (documentFrequency + 0.5));
}

export interface TermWeight {
  readonly term: string;
  readonly weight: number;
}

/**
 * Weights are computed as if the store held at least this many passages. In a store of a
 * handful of passages every present term is "common" and every absent one maximally rare, so a
 * single everyday word missing from a short note would outweigh three that match; counting the
 * store as at least this large keeps the weights of rare and absent terms comparable.
 */
export const MIN_DOCUMENTS = 1_000;

/**
 * How much more a name in the question (a word written with a capital letter, see
 * `namedTerms`) weighs than its rarity alone says. A question names what it is about; a passage
 * that has the question's other words but not its names ("Los Angeles" asked, "Fresno"
 * described) is more often a coincidence than an answer. Measured on SQuAD, doubling separates
 * out-of-base questions clearly better on articles the factor was not chosen on (eval/RESULTS.md).
 */
export const NAME_WEIGHT = 2;

export function termWeights(
  terms: readonly string[],
  documentFrequency: ReadonlyMap<string, number>,
  documents: number,
  named: ReadonlySet<string> = new Set(),
): TermWeight[] {
  const size = Math.max(documents, MIN_DOCUMENTS);
  return terms.map((term) => ({
    term,
    weight:
      inverseDocumentFrequency(documentFrequency.get(term) ?? 0, size) * (named.has(term) ? NAME_WEIGHT : 1),
  }));
}

/**
 * Weights with each camel-case word of the question weighing as the one word it is: its whole
 * form and its parts (`wordTerms`) share the whole form's weight, in proportion to their own.
 * The parts are there so "GitHub" finds "git hub" and "createWebSocketStream" finds "web
 * socket"; counted each at full weight they made one name three ("GitHub" was most of "How do I
 * set up two-factor authentication in GitHub?", so any passage linking to GitHub covered it). A
 * term another word of the question asks for too keeps its own weight.
 */
export function asOneWordEach(
  weights: readonly TermWeight[],
  words: readonly (readonly string[])[],
): TermWeight[] {
  const weightOf = new Map(weights.map(({ term, weight }) => [term, weight]));
  // A word asked twice is still one word.
  const distinct = [...new Map(words.map((word) => [word.join(' '), word])).values()];
  const asked = new Map<string, number>();
  for (const word of distinct) for (const term of word) asked.set(term, (asked.get(term) ?? 0) + 1);
  const shared = new Map<string, number>();
  for (const [whole, ...parts] of distinct) {
    const wholeWeight = whole === undefined ? undefined : weightOf.get(whole);
    if (whole === undefined || wholeWeight === undefined || parts.length === 0 || asked.get(whole) !== 1)
      continue;
    const members = [whole, ...parts.filter((term) => weightOf.has(term) && asked.get(term) === 1)];
    const sum = members.reduce((total, term) => total + (weightOf.get(term) ?? 0), 0);
    if (members.length < 2 || sum === 0) continue;
    for (const term of members) shared.set(term, ((weightOf.get(term) ?? 0) / sum) * wholeWeight);
  }
  return weights.map(({ term, weight }) => ({ term, weight: shared.get(term) ?? weight }));
}

/** Terms in a row of this many count as one stretch of text answering together. */
export const WINDOW_TERMS = 25;

/**
 * Share (0–1) of the question's IDF weight covered by the best stretch of `WINDOW_TERMS`
 * consecutive terms of the passage, with the terms of its title and metadata (which describe
 * the whole passage) counting everywhere. Measured on SQuAD, a stretch separates answerable from
 * unanswerable questions better than the whole passage: a question's words scattered over a
 * long passage are more often chance than an answer (eval/RESULTS.md).
 */
export function coverage(
  weights: readonly TermWeight[],
  passageTerms: readonly string[],
  everywhere: ReadonlySet<string>,
  window = WINDOW_TERMS,
): number {
  let total = 0;
  let always = 0;
  const weightOf = new Map<string, number>();
  for (const { term, weight } of weights) {
    total += weight;
    if (everywhere.has(term)) always += weight;
    else weightOf.set(term, weight);
  }
  if (total === 0) return 0;
  // Slide the window, tracking how many times each wanted term is inside it.
  const inside = new Map<string, number>();
  let covered = 0;
  let best = 0;
  passageTerms.forEach((term, i) => {
    const weight = weightOf.get(term);
    if (weight !== undefined) {
      const count = inside.get(term) ?? 0;
      if (count === 0) covered += weight;
      inside.set(term, count + 1);
    }
    const leaving = passageTerms[i - window];
    const leavingWeight = leaving === undefined ? undefined : weightOf.get(leaving);
    if (leaving !== undefined && leavingWeight !== undefined) {
      const count = (inside.get(leaving) ?? 1) - 1;
      inside.set(leaving, count);
      if (count === 0) covered -= leavingWeight;
    }
    if (covered > best) best = covered;
  });
  return Math.min(1, (always + best) / total);
}

/**
 * How much of the question a passage covers (`coverage`), a question term the store has never
 * seen counting as found where the passage has a word one edit away from it: a typing slip
 * should not make an answerable question look out of base (spelling.ts).
 */
export function passageRelevance(
  weights: readonly TermWeight[],
  unseen: readonly string[],
  passage: { readonly body: readonly string[]; readonly everywhere: readonly string[] },
): number {
  const asked = new Set(weights.map(({ term }) => term));
  const matches = misspeltMatches(unseen, [...passage.body, ...passage.everywhere], asked);
  const asAsked = (term: string) => matches.get(term) ?? term;
  return coverage(weights, passage.body.map(asAsked), new Set(passage.everywhere.map(asAsked)));
}

/**
 * How much of a question one text covers when no store's statistics are at hand (a message the
 * asker pointed at): every question term weighs the same, names double, slips forgiven.
 */
export function textRelevance(question: string, text: string): number {
  const wanted = queryTerms(question);
  if (wanted.length === 0) return 0;
  const named = typedInLowerCase(question) ? namedTerms(text) : namedTerms(question);
  const weights = asOneWordEach(termWeights(wanted, new Map(), MIN_DOCUMENTS, named), wordTerms(question));
  const body = terms(text);
  const seen = new Set(body);
  return passageRelevance(
    weights,
    wanted.filter((term) => !seen.has(term)),
    { body, everywhere: [] },
  );
}
