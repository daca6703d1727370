/**
 * Fenced code blocks that their content cannot close: CommonMark ends a fence only at a line
 * of at least as many backticks as opened it, so the fence is one longer than the longest run
 * of backticks in the code (a code block holding ``` gets ````). Every converter that writes
 * code (Notion, Confluence, reStructuredText) fences it here.
 */

function longestRun(text: string, char: string): number {
  let longest = 0;
  let run = 0;
  for (const c of text) {
    run = c === char ? run + 1 : 0;
    if (run > longest) longest = run;
  }
  return longest;
}

/** The lines of a fenced block: the opening fence with its language, the code, the closing fence. */
export function fencedCode(code: string, language = ''): string[] {
  const marks = '`'.repeat(Math.max(3, longestRun(code, '`') + 1));
  // An info string is one word without backticks (a backtick there would end the fence line's meaning).
  const info = language.replace(/[`\s]/g, '');
  return [`${marks}${info}`, code.replace(/\n+$/, ''), marks];
}
