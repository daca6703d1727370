/**
 * Groups questions that ask the same thing, in a way a person can check by hand: each
 * question becomes the set of its stemmed content words (the local store's own terms, so
 * "resetting passwords" meets "reset password"), and a question joins the first group whose
 * first question shares at least `threshold` of their combined words (Jaccard similarity).
 * Questions kept only as a hash (RECORD_TEXT=false) group when they are identical.
 */
import { queryTerms } from '../stores/local/terms.js';

export const DEFAULT_SIMILARITY = 0.5;

export interface Groupable {
  /** The wording, when kept. */
  readonly text?: string;
  /** Identifies identical questions when the wording is not kept. */
  readonly hash: string;
}

export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 0;
  let shared = 0;
  for (const term of a) if (b.has(term)) shared += 1;
  return shared / (a.size + b.size - shared);
}

/** Groups items in the order given (put the most telling first); each group keeps that order. */
export function groupSimilar<T extends Groupable>(
  items: readonly T[],
  threshold = DEFAULT_SIMILARITY,
): T[][] {
  const groups: { terms: ReadonlySet<string>; hash: string; members: T[] }[] = [];
  for (const item of items) {
    const terms = new Set(item.text ? queryTerms(item.text) : []);
    const home = groups.find((group) =>
      terms.size > 0 && group.terms.size > 0
        ? jaccard(terms, group.terms) >= threshold
        : group.hash === item.hash,
    );
    if (home) home.members.push(item);
    else groups.push({ terms, hash: item.hash, members: [item] });
  }
  return groups.map((group) => group.members);
}
