/**
 * How the embedded store indexes and ranks a passage, shared by every store that ranks the same
 * way (the PostgreSQL store too): the words of a passage's metadata that are indexed, the
 * weight of each field in BM25, and which of a question's terms take part in ranking.
 */
import { basename, extname } from 'node:path';
import type { Chunk, Passage } from '../../core/types.js';
import { asOneWordEach, passageRelevance, termWeights } from './relevance.js';
import { namedTerms, terms, typedInLowerCase, wordTerms } from './terms.js';

/**
 * Metadata the ingestion records about where a passage sits (its path, its document's title
 * and section, already in its title): not words to find it by.
 */
const PLACEMENT_KEYS = new Set(['id', 'location', 'document', 'section']);

/** Metadata words worth finding a passage by: a food record's region and type, not its id. */
export function metadataText(chunk: Pick<Chunk, 'source' | 'title' | 'metadata'>): string {
  const title = (chunk.title ?? '').toLowerCase();
  const values: string[] = [basename(chunk.source, extname(chunk.source))];
  for (const [key, value] of Object.entries(chunk.metadata)) {
    if (PLACEMENT_KEYS.has(key)) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item !== 'string' && typeof item !== 'number') continue;
      const text = String(item);
      if (text && !title.includes(text.toLowerCase())) values.push(text);
    }
  }
  return values.join(' ');
}

/**
 * Column weights of the ranking. Chunks already begin with their heading path, so a title's
 * words are in the body too and weigh half; metadata fields (a record's region or type)
 * describe the whole record and weigh double. Measured on both eval sets (eval/RESULTS.md).
 */
export const TITLE_WEIGHT = 0.5;
export const BODY_WEIGHT = 1;
export const META_WEIGHT = 2;

/**
 * In a large store, a term in this many passages (and this share of them) is left out of the
 * ranking query when the question has rarer terms: scoring every passage that holds it is what
 * makes a query slow, and BM25 gives it almost no weight. It still counts for relevance.
 */
export const COMMON_TERM_PASSAGES = 2_000;
export const COMMON_TERM_SHARE = 0.02;

export function rankingTerms(
  wanted: readonly string[],
  frequencies: ReadonlyMap<string, number>,
  documents: number,
): readonly string[] {
  const limit = Math.max(COMMON_TERM_PASSAGES, documents * COMMON_TERM_SHARE);
  const rarer = wanted.filter((term) => (frequencies.get(term) ?? 0) <= limit);
  return rarer.length > 0 ? rarer : wanted;
}

/**
 * Relevance scores are the share of the question's information (IDF-weighted terms) a passage
 * covers, 0–1, discounted for a passage alone among the results (`withAgreement`). The floor is
 * the highest at which neither our own eval set nor the package docs set refuses a question it
 * answered before; on SQuAD it wrongly refuses 2.5% of answerable questions and, calibrated on
 * half of the articles, carries over to the other half (eval/RESULTS.md).
 */
export const RELEVANCE_FLOOR = 0.3;

/** The results whose documents are compared (`withAgreement`). */
export const AGREEMENT_DEPTH = 10;

/**
 * How much a passage's score depends on its document's share of the results: a passage whose
 * document holds none of the others keeps 1 − AGREEMENT_WEIGHT of its coverage (plus its own
 * slot's share), one whose document fills them all keeps all of it.
 */
export const AGREEMENT_WEIGHT = 0.5;

/**
 * Discounts each passage's coverage by how few of the top `AGREEMENT_DEPTH` results come from its
 * own document (its `source`). A question the knowledge base answers tends to find several
 * passages of the document about it; one it does not answer meets passing mentions scattered
 * over unrelated documents. Measured on SQuAD held out by article, this separates the two far
 * better than coverage alone (out-of-base refused 73.5% → 80.6% while answerable wrongly
 * refused fell 5.2% → 3.1%; over 300 random splits 74.3% / 4.4% → 80.6% / 3.3%). Order is kept:
 * it changes whether a passage clears the floor, not which ranks first. `ranked` must be the
 * search's ranking from its start.
 */
export function withAgreement<T extends { readonly source: string; readonly score: number }>(
  ranked: readonly T[],
): T[] {
  const top = ranked.slice(0, AGREEMENT_DEPTH);
  const perSource = new Map<string, number>();
  for (const passage of top) perSource.set(passage.source, (perSource.get(passage.source) ?? 0) + 1);
  return ranked.map((passage) => {
    const share = (perSource.get(passage.source) ?? 0) / Math.max(1, top.length);
    return { ...passage, score: passage.score * (1 - AGREEMENT_WEIGHT + AGREEMENT_WEIGHT * share) };
  });
}

/**
 * The relevance score (relevance.ts) of each ranked passage for `query`: `wanted` are its terms,
 * `frequencies` how many of the store's `documents` passages hold each.
 */
export function relevanceScorer(
  query: string,
  wanted: readonly string[],
  frequencies: ReadonlyMap<string, number>,
  documents: number,
): (passage: Pick<Passage, 'text' | 'title' | 'source' | 'metadata'>) => number {
  const askedNames = typedInLowerCase(query) ? undefined : namedTerms(query);
  const unseen = wanted.filter((term) => (frequencies.get(term) ?? 0) === 0);
  const words = wordTerms(query);
  return (passage) => {
    // Someone typing all in lower case says nothing by it: the passage's capitals tell names.
    const names = askedNames ?? namedTerms(passage.text);
    const weights = asOneWordEach(termWeights(wanted, frequencies, documents, names), words);
    return passageRelevance(weights, unseen, {
      body: terms(passage.text),
      everywhere: [...terms(passage.title ?? ''), ...terms(metadataText(passage))],
    });
  };
}
