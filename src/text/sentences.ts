/**
 * Sentences of prose, found by one left-to-right scan (no pattern that could backtrack over a
 * long run of text). A sentence ends at `.`, `!` or `?` followed by white space and then a
 * capital, a digit, a quote, a bracket or Markdown markup: ".env", "e.g. this" and "v1.2" do
 * not end one. Nothing inside `inline code` ends a sentence.
 */

const OPENERS = new Set(['"', "'", '“', '‘', '`', '*', '_', '[', '(']);

function startsSentence(char: string | undefined): boolean {
  if (char === undefined) return false;
  if (OPENERS.has(char)) return true;
  if (char >= '0' && char <= '9') return true;
  return char !== char.toLowerCase() && char === char.toUpperCase();
}

function isSpace(char: string | undefined): boolean {
  return char === ' ' || char === '\n' || char === '\t' || char === '\r' || char === '\u00a0';
}

/** The sentences of `text`, each trimmed, in order; together they hold all its non-space text. */
export function sentences(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let inCode = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '`') inCode = !inCode;
    if (inCode || (char !== '.' && char !== '!' && char !== '?')) continue;
    // Closing quotes and brackets belong to the sentence they end.
    let end = i + 1;
    while (
      end < text.length &&
      (text[end] === '"' || text[end] === "'" || text[end] === ')' || text[end] === '”')
    )
      end += 1;
    if (end < text.length && !isSpace(text[end])) continue;
    let next = end;
    while (next < text.length && isSpace(text[next])) next += 1;
    if (next < text.length && !startsSentence(text[next])) continue;
    const sentence = text.slice(start, end).trim();
    if (sentence) out.push(sentence);
    start = next;
    i = next - 1;
  }
  const rest = text.slice(start).trim();
  if (rest) out.push(rest);
  return out;
}

/** The last sentence of `text`, when it is at most `maxChars` long. */
export function lastSentence(text: string, maxChars: number): string {
  const all = sentences(text);
  const last = all.at(-1) ?? '';
  return last.length <= maxChars ? last : '';
}
