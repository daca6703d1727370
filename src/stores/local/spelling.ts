/**
 * Misspelt question words. A question term the store has never seen is either about something
 * the store does not hold (the strongest sign of an out-of-base question, so it weighs most) or
 * a typing slip ("Celeron" for "Céloron", "goovern", "charecter"). Measured on SQuAD, about one
 * answerable question in ten has such a slip, and each was refused for it: counting a passage
 * word one edit away as the question's word lets the floor rise, which refuses more questions
 * that really are out of base (eval/RESULTS.md).
 */

/** Shorter words are too often a different word one letter away ("ratio", "nation"). */
export const MIN_MISSPELT_LETTERS = 5;

/**
 * Real questions have none to three unknown words; a pasted wall of them (up to
 * RAG_MAX_QUESTION_CHARS) would otherwise cost words × passage words comparisons per passage
 * on the event loop.
 */
export const MAX_MISSPELT_WORDS = 8;

/**
 * True when `a` becomes `b` by exactly one edit: a letter inserted, removed or replaced, or two
 * neighbouring letters swapped (the usual typing slips).
 */
export function oneEditApart(a: string, b: string): boolean {
  if (a === b) return false;
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  if (long.length - short.length > 1) return false;
  let start = 0;
  while (start < short.length && short[start] === long[start]) start += 1;
  if (short.length !== long.length) return short.slice(start) === long.slice(start + 1);
  if (short.slice(start + 1) === long.slice(start + 1)) return true;
  return (
    short[start] === long[start + 1] &&
    short[start + 1] === long[start] &&
    short.slice(start + 2) === long.slice(start + 2)
  );
}

/** Digits mark numbers and codes: 1850 and 1851 are different facts, not a slip. */
function mayBeMisspelt(term: string): boolean {
  return term.length >= MIN_MISSPELT_LETTERS && !/\p{N}/u.test(term);
}

/**
 * For the question terms the store has never seen (`unseen`, the first MAX_MISSPELT_WORDS that
 * may be slips), the passage's terms one edit away from one of them: passage term → the
 * question term it stands for. A passage term the question itself uses (`asked`) is never taken
 * for a slip: "Preston" stays Preston when the question also says "prestonn".
 */
export function misspeltMatches(
  unseen: readonly string[],
  passageTerms: Iterable<string>,
  asked: ReadonlySet<string> = new Set(),
): Map<string, string> {
  const matches = new Map<string, string>();
  const candidates = unseen.filter(mayBeMisspelt).slice(0, MAX_MISSPELT_WORDS);
  if (candidates.length === 0) return matches;
  for (const term of new Set(passageTerms)) {
    if (asked.has(term) || !mayBeMisspelt(term)) continue;
    const meant = candidates.find((candidate) => oneEditApart(candidate, term));
    if (meant !== undefined) matches.set(term, meant);
  }
  return matches;
}
