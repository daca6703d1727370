/**
 * MDX as Markdown for retrieval: the ES module statements (`import …`, `export …`) at the top
 * level are code for the site's build, not prose, so they are left out; fenced code is kept as
 * it is. Line by line, linear; JSX elements stay as text (their children are usually prose).
 */

/** The fence a line opens or closes: its character and how many (three or more), or undefined. */
function fenceOf(line: string): { char: string; length: number; info: string } | undefined {
  const trimmed = line.trimStart();
  const char = trimmed.charAt(0);
  if (char !== '`' && char !== '~') return undefined;
  let length = 0;
  while (trimmed.charAt(length) === char) length++;
  return length >= 3 ? { char, length, info: trimmed.slice(length).trim() } : undefined;
}

/** How much a line opens brackets (`{`, `(`, `[`) more than it closes them. */
function bracketBalance(line: string): number {
  let balance = 0;
  for (const char of line) {
    if (char === '{' || char === '(' || char === '[') balance++;
    else if (char === '}' || char === ')' || char === ']') balance--;
  }
  return balance;
}

/**
 * Whether a module statement can end on this line: with its brackets closed, at a `;`, a
 * quoted module name (`from 'x'`) or a closing bracket.
 */
function canEnd(line: string, depth: number): boolean {
  const last = line.trimEnd().slice(-1);
  return (
    depth <= 0 &&
    (last === ';' || last === "'" || last === '"' || last === '}' || last === ')' || last === ']')
  );
}

export function cleanMdx(source: string): string {
  const out: string[] = [];
  let fence: { char: string; length: number } | undefined;
  let inModule = false;
  let depth = 0;
  for (const line of source.replace(/\r\n?/g, '\n').split('\n')) {
    const marker = fenceOf(line);
    if (fence) {
      // Only a fence of the same character, at least as long and with no info string, closes it.
      if (marker && marker.char === fence.char && marker.length >= fence.length && !marker.info)
        fence = undefined;
      out.push(line);
      continue;
    }
    if (inModule) {
      // A statement ends once its brackets close on a line that can end it (or at a blank line).
      depth += bracketBalance(line);
      if (line.trim() === '' || canEnd(line, depth)) inModule = false;
      continue;
    }
    if (marker) {
      fence = marker;
      out.push(line);
      continue;
    }
    if (line.startsWith('import ') || line.startsWith('export ')) {
      // A statement that does not end on its own line runs on until it does.
      depth = bracketBalance(line);
      inModule = !canEnd(line, depth);
      continue;
    }
    out.push(line);
  }
  return out.join('\n');
}
