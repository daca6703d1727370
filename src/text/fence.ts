/**
 * Fenced code blocks that their content cannot close: CommonMark ends a fence only at a line of
 * at least as many fence characters as opened it, so the fence is one longer than the longest
 * run in the code (a code block holding ``` gets ````). Tildes when the info string holds a
 * backtick, which a backtick fence cannot carry. Every writer of code fences uses this: the
 * chunker, the offline answerer and the Notion, Confluence and reStructuredText converters.
 */

function longestRun(text: string, char: string): number {
  let best = 0;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === char) {
      run += 1;
      if (run > best) best = run;
    } else run = 0;
  }
  return best;
}

export function fence(code: string, lang = ''): string {
  const char = lang.includes('`') ? '~' : '`';
  const marker = char.repeat(Math.max(3, longestRun(code, char) + 1));
  const body = code.endsWith('\n') ? code : `${code}\n`;
  return `${marker}${lang}\n${body}${marker}`;
}

/**
 * Code from a converted document: trailing blank lines dropped; the language as one word
 * without backticks ("java script" → "javascript"), as an info string must be.
 */
export function fencedCode(code: string, language = ''): string {
  return fence(code.replace(/(?<!\n)\n+$/, ''), language.replace(/[`\s]/g, ''));
}
