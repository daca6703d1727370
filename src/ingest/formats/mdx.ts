/**
 * MDX as Markdown for retrieval: the ES module lines (`import …`, `export …`) at the top level
 * are code for the site's build, not prose, so they are left out; fenced code is kept as it
 * is. Line by line, linear; JSX elements stay as text (their children are usually prose).
 */
export function cleanMdx(source: string): string {
  const out: string[] = [];
  let fence = '';
  let inModule = false;
  for (const line of source.replace(/\r\n?/g, '\n').split('\n')) {
    const trimmed = line.trimStart();
    const marker = trimmed.startsWith('```') ? '```' : trimmed.startsWith('~~~') ? '~~~' : '';
    if (marker && (fence === '' || fence === marker)) {
      fence = fence ? '' : marker;
      out.push(line);
      continue;
    }
    if (fence) {
      out.push(line);
      continue;
    }
    // A module statement runs until a blank line (multi-line imports and exported objects).
    if (line.startsWith('import ') || line.startsWith('export ')) inModule = true;
    if (inModule) {
      if (line.trim() === '') inModule = false;
      continue;
    }
    out.push(line);
  }
  return out.join('\n');
}
