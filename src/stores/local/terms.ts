/**
 * Term processing for the local BM25 index: lower-case, drop stopwords, and strip common
 * English endings so "installing", "installed" and "installs" meet "install".
 */

const STOPWORDS = new Set(
  (
    'a about after all also am an and any are as at be been before but by can could did do does doing for from ' +
    'get got had has have having he her here hers him his how i if in into is it its just let me more most my no ' +
    'not of on once only or other our out over own same she should so some such than that the their them then ' +
    'there these they this those through to too under until up very was we were what when where which while who ' +
    'whom why will with would you your yours'
  ).split(' '),
);

/** Index and query term: undefined drops it. */
export function searchTerm(term: string): string | undefined {
  const word = term.toLowerCase();
  if (word.length < 2 || STOPWORDS.has(word)) return undefined;
  if (word.length > 5) return word.replace(/(ations?|ing|edly|ed|es|s)$/u, '');
  if (word.length > 3) return word.replace(/s$/u, '');
  return word;
}

/** Distinct processed terms of a query. */
export function queryTerms(query: string): string[] {
  const words = query.match(/[\p{L}\p{N}]+/gu) ?? [];
  const terms = words.map(searchTerm).filter((term): term is string => Boolean(term));
  return [...new Set(terms)];
}
