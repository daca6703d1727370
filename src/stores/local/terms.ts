/**
 * Terms for the local index: lower-cased words without accents, English stopwords dropped,
 * stemmed with the Porter2 (Snowball English) stemmer so "criticize" meets "criticism" and
 * "stations" meets "station", without cutting words to two- or three-letter stubs. Index and
 * query go through this one function, so both sides always agree.
 */
import stem from 'wink-porter2-stemmer';

const STOPWORDS = new Set(
  (
    'a about above after again against all also am an and any are aren as at be because been before being below ' +
    'between both but by can cannot could did didn do does doesn doing don down during each else etc ever few for ' +
    'from further get gets go goes going gone got had hadn has hasn have haven having he her here hers herself him himself his how i ' +
    'if in into is isn it its itself just let ll me might more most must my myself no nor not now of off on once ' +
    'only or other ought our ours ourselves out over own per re same shall she should so some such than that the ' +
    'their theirs them themselves then there these they this those through thus to too under until up upon us ve ' +
    'very was wasn we were weren what whatever when where whether which while who whom whose why will with within ' +
    'without won would you your yours yourself yourselves'
  ).split(' '),
);

const WORD = /[\p{L}\p{N}]+/gu;
/** Stems are cached: a corpus repeats a small vocabulary millions of times. */
const stems = new Map<string, string>();
const MAX_CACHED_STEMS = 200_000;

function stemOf(word: string): string {
  let out = stems.get(word);
  if (out === undefined) {
    // Numbers and codes are kept as written; the stemmer is for English words.
    out = /\p{N}/u.test(word) ? word : stem(word);
    if (stems.size >= MAX_CACHED_STEMS) stems.clear();
    stems.set(word, out);
  }
  return out;
}

function fold(text: string): string {
  const lower = text.toLowerCase();
  // Only text with non-ASCII letters pays for Unicode normalisation.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point
  return /[^\u0000-\u007f]/.test(lower) ? lower.normalize('NFKD').replace(/\p{M}/gu, '') : lower;
}

function addTerm(out: string[], word: string): void {
  if (STOPWORDS.has(word)) return;
  if (word.length < 2 && !/\p{N}/u.test(word)) return;
  out.push(stemOf(word));
}

/**
 * The words inside an identifier written in camel case ("startTimer" → "start", "timer";
 * "createWebSocketStream" → "create", "web", "socket", "stream"), or none. Documentation names
 * its functions and options that way while a question says "timer" or "stream".
 */
function camelParts(word: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 1; i < word.length; i++) {
    const previous = word.charAt(i - 1);
    const char = word.charAt(i);
    const upper = char !== char.toLowerCase();
    const lowerBefore = previous !== previous.toUpperCase();
    // A capital after a small letter starts a part ("startTimer"); so does the last capital of a
    // run followed by a small letter ("XMLParser" → "XML", "Parser").
    const next = word.charAt(i + 1);
    const runEnds =
      upper && previous !== previous.toLowerCase() && next !== '' && next !== next.toUpperCase();
    if ((upper && lowerBefore) || runEnds) {
      parts.push(word.slice(start, i));
      start = i;
    }
  }
  if (start === 0) return [];
  parts.push(word.slice(start));
  return parts;
}

/**
 * Stemmed content terms of a text, in order, repeats kept (term frequency matters to BM25). An
 * identifier in camel case gives its whole self and then each of its words.
 */
export function terms(text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(WORD)) {
    const word = match[0];
    addTerm(out, fold(word));
    // Only mixed case can hide words; an all-lower or all-upper word has none to find.
    if (word === word.toLowerCase() || word === word.toUpperCase()) continue;
    for (const part of camelParts(word)) if (part.length >= 2) addTerm(out, fold(part));
  }
  return out;
}

/**
 * The distinct terms of each word of a text, word by word: one for most words, the whole and its
 * parts for a camel-case identifier ("GitHub" → ["github", "git", "hub"]), none for a stopword.
 */
export function wordTerms(text: string): string[][] {
  const out: string[][] = [];
  for (const match of text.matchAll(WORD)) {
    const found = [...new Set(terms(match[0]))];
    if (found.length > 0) out.push(found);
  }
  return out;
}

/** Distinct terms of a question, in the order asked. */
export function queryTerms(query: string): string[] {
  return [...new Set(terms(query))];
}

const WORD_AT = /[\p{L}\p{N}]+/gu;
/**
 * What may stand between a sentence's end and the next word: spaces, quotes, brackets
 * (`He left." Then`, `(See above.)`) and the marks that open a Markdown list item or heading.
 */
const BETWEEN = new Set([
  ' ',
  '\t',
  '\r',
  '"',
  "'",
  '“',
  '”',
  '‘',
  '’',
  '(',
  ')',
  '[',
  ']',
  '-',
  '*',
  '•',
  '#',
  '>',
]);

/** Whether the word at `index` begins the text, a line, or a sentence (after . ! or ?). */
function beginsSentence(text: string, index: number): boolean {
  let i = index - 1;
  while (i >= 0 && BETWEEN.has(text.charAt(i))) i -= 1;
  return i < 0 || '.!?\n'.includes(text.charAt(i));
}

/**
 * Terms of the words a text writes with a capital letter where a sentence does not begin: in a
 * question, the names of what it is about ("Fresno", "Céloron", "PDF").
 */
export function namedTerms(text: string): Set<string> {
  const named = new Set<string>();
  for (const match of text.matchAll(WORD_AT)) {
    const word = match[0];
    if (!/^\p{Lu}/u.test(word) || beginsSentence(text, match.index)) continue;
    for (const term of terms(word)) named.add(term);
  }
  return named;
}

/** No capital letter anywhere: the writer's capitals say nothing about which words are names. */
export function typedInLowerCase(text: string): boolean {
  return !/\p{Lu}/u.test(text);
}
