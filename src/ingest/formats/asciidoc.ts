/**
 * AsciiDoc to Markdown for retrieval: section titles (`== Setup`) become headings, listing and
 * literal blocks become fenced code (with the language of a `[source,lang]` line), tables become
 * Markdown tables, admonitions quotes, lists and description lists Markdown lists, and inline
 * links and cross references keep their text. Comments, attribute entries, anchors, includes
 * and passthrough blocks carry no prose and are dropped. One pass over the lines and a
 * character scan per line: linear in the input, no regular expressions over the document. A
 * pure function, so it can run in the parse pool.
 */
import { fencedCode } from '../../text/fence.js';

const ADMONITIONS = ['NOTE', 'TIP', 'IMPORTANT', 'WARNING', 'CAUTION'];

/** Delimited blocks: the character a delimiter line repeats (four or more times). */
const VERBATIM = new Set(['-', '.']);
const COMPOUND = new Set(['=', '*', '_']);
const DROPPED = new Set(['+', '/']);
/** Nesting deeper than this is read as if flat: no document needs it, and it bounds `emit`'s work. */
const MAX_OPEN_BLOCKS = 8;

function capitalised(word: string): string {
  return `${word.charAt(0)}${word.slice(1).toLowerCase()}`;
}

/** `----`, `....`, `====`… (four or more of one delimiter character), or ''. */
function delimiterOf(line: string): string {
  const trimmed = line.trimEnd();
  if (trimmed === '--') return '--';
  if (trimmed.length < 4) return '';
  const char = trimmed.charAt(0);
  if (!VERBATIM.has(char) && !COMPOUND.has(char) && !DROPPED.has(char)) return '';
  for (const each of trimmed) if (each !== char) return '';
  return trimmed;
}

/** `== Title` → [2, 'Title'] (`=` is the document title, level 1); anything else undefined. */
function sectionTitle(line: string): [number, string] | undefined {
  let level = 0;
  while (line.charAt(level) === '=') level++;
  if (level === 0 || level > 6 || line.charAt(level) !== ' ') return undefined;
  const text = line.slice(level + 1).trim();
  return text ? [level, text] : undefined;
}

/** `[source,python]` → 'python'; the attribute list of a block attribute line, or undefined. */
function blockAttributes(line: string): string[] | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('[') || !trimmed.endsWith(']') || trimmed.startsWith('[[')) return undefined;
  // Commas inside quotes (`cols="1,2"`) are part of the value.
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of trimmed.slice(1, -1)) {
    if (char === '"') quoted = !quoted;
    if (char === ',' && !quoted) {
      parts.push(current.trim());
      current = '';
    } else current += char;
  }
  parts.push(current.trim());
  return parts;
}

/** `:name: value`, `:name!:`: document attributes, not prose. */
function isAttributeEntry(line: string): boolean {
  if (!line.startsWith(':')) return false;
  const end = line.indexOf(':', 1);
  if (end < 2) return false;
  const name = line.slice(1, end);
  for (const char of name) if (char === ' ' || char === '\t') return false;
  return end === line.length - 1 || line.charAt(end + 1) === ' ';
}

/**
 * The text from `from` to the next `close`, or undefined. Where the line has no `close` after
 * `from` this costs nothing (its last one is known), so a line of a thousand unclosed `<<`
 * is read in one pass; where it has one, the caller moves past it.
 */
function between(
  line: string,
  from: number,
  close: string,
  last = line.lastIndexOf(close),
): { text: string; end: number } | undefined {
  if (last < from) return undefined;
  const end = line.indexOf(close, from);
  return end < 0 ? undefined : { text: line.slice(from, end), end: end + close.length };
}

/** A macro's target is a path or an id: longer is not a macro, and the search for its `[` stops there. */
const MAX_TARGET_CHARS = 512;

const URL_SCHEMES = ['https://', 'http://', 'mailto:'];
const TEXT_MACROS = ['xref:', 'image:', 'footnote:', 'kbd:', 'btn:', 'menu:', 'pass:', 'icon:'];

/**
 * Inline markup: `https://host[text]` and `link:url[text]` → [text](url), `xref:file[text]` and
 * `<<id,text>>` → text, `image:file[alt]` → alt, `` `+literal+` `` → `literal`. Bold, italic and
 * monospace marks are Markdown's already.
 */
export function asciidocInline(line: string): string {
  // Where each closing mark last occurs, found once per line (see `between`).
  const lastRef = line.lastIndexOf('>>');
  const lastLabel = line.lastIndexOf(']');
  const lastLiteral = line.lastIndexOf('+`');
  let out = '';
  let i = 0;
  while (i < line.length) {
    if (line.startsWith('<<', i)) {
      const ref = between(line, i + 2, '>>', lastRef);
      if (ref) {
        const comma = ref.text.indexOf(',');
        out += comma >= 0 ? ref.text.slice(comma + 1).trim() : ref.text.trim();
        i = ref.end;
        continue;
      }
    }
    const scheme = URL_SCHEMES.find((prefix) => line.startsWith(prefix, i));
    const link = line.startsWith('link:', i);
    if (scheme || link) {
      const start = link ? i + 5 : i;
      let end = start;
      while (end < line.length && !' \t[<>"'.includes(line.charAt(end))) end++;
      const target = line.slice(start, end);
      if (target && line.charAt(end) === '[') {
        const label = between(line, end + 1, ']', lastLabel);
        if (label) {
          const text = label.text.split(',')[0]?.trim().replace(/^"|"$/g, '') ?? '';
          out += target.includes('://') ? `[${text || target}](${target})` : text || target;
          i = label.end;
          continue;
        }
      }
      out += line.slice(i, end);
      i = end;
      continue;
    }
    const macro = TEXT_MACROS.find((prefix) => line.startsWith(prefix, i));
    if (macro) {
      let open = i + macro.length;
      const limit = Math.min(line.length, open + MAX_TARGET_CHARS);
      while (open < limit && line.charAt(open) !== '[' && line.charAt(open) !== ' ') open++;
      if (line.charAt(open) === '[') {
        const label = between(line, open + 1, ']', lastLabel);
        if (label) {
          const target = line.slice(i + macro.length, open);
          const text = label.text.split(',')[0]?.trim() ?? '';
          out += macro === 'image:' || macro === 'xref:' ? text || target : text;
          i = label.end;
          continue;
        }
      }
      // Not a macro: the word scanned is copied as it is, and not scanned again.
      out += line.slice(i, open);
      i = open;
      continue;
    }
    if (line.charAt(i) === '`' && line.charAt(i + 1) === '+') {
      const literal = between(line, i + 2, '+`', lastLiteral);
      if (literal) {
        out += `\`${literal.text}\``;
        i = literal.end;
        continue;
      }
    }
    out += line.charAt(i);
    i++;
  }
  return out;
}

/** A list item (`* a`, `** b`, `- c`, `. d`, `.. e`) as Markdown, or undefined. */
function listItem(line: string): string | undefined {
  const trimmed = line.trimStart();
  const mark = trimmed.charAt(0);
  if (mark !== '*' && mark !== '.' && mark !== '-') return undefined;
  let depth = 0;
  while (trimmed.charAt(depth) === mark) depth++;
  if (trimmed.charAt(depth) !== ' ' || (mark === '-' && depth > 1)) return undefined;
  const text = trimmed.slice(depth + 1).trim();
  if (!text) return undefined;
  const indent = '  '.repeat(Math.min(depth, 6) - 1);
  return `${indent}${mark === '.' ? '1.' : '-'} ${asciidocInline(text)}`;
}

/** `term:: definition` → `- **term**: definition`, or undefined. */
function descriptionItem(line: string): string | undefined {
  const marker = line.indexOf(':: ');
  const bare = line.trimEnd().endsWith('::') && !line.trimEnd().endsWith(':::');
  if (marker <= 0 && !bare) return undefined;
  const at = marker > 0 ? marker : line.trimEnd().length - 2;
  const term = line.slice(0, at).trim();
  if (!term || term.startsWith(':') || term.includes('::')) return undefined;
  const definition = marker > 0 ? line.slice(marker + 3).trim() : '';
  return `- **${asciidocInline(term)}**${definition ? `: ${asciidocInline(definition)}` : ''}`;
}

/** The cells of a table's lines: `|a |b` on one line or one cell a line, rows by column count. */
function tableRows(lines: readonly string[], columns: number | undefined): string[][] {
  const cells: string[] = [];
  let firstLineCells: number | undefined;
  for (const line of lines) {
    if (!line.trim()) continue;
    let count = 0;
    let current: string | undefined;
    for (let i = 0; i < line.length; i++) {
      const char = line.charAt(i);
      if (char === '\\' && line.charAt(i + 1) === '|') {
        current = `${current ?? ''}|`;
        i++;
      } else if (char === '|') {
        if (current !== undefined) cells.push(current.trim());
        current = '';
        count++;
      } else if (current !== undefined) current += char;
      // Text before the first `|` is a cell's specifier (`2+`, `a`): not content.
    }
    if (current !== undefined) cells.push(current.trim());
    else if (cells.length > 0) cells[cells.length - 1] += ` ${line.trim()}`;
    firstLineCells ??= count;
  }
  const width = Math.min(MAX_COLUMNS, Math.max(1, columns ?? firstLineCells ?? 1));
  const rows: string[][] = [];
  for (let i = 0; i < cells.length; i += width) rows.push(cells.slice(i, i + width));
  return rows;
}

/** Wider tables are read with their further cells on more rows: a row costs what its cells hold. */
const MAX_COLUMNS = 64;

/** `[cols="1,2,3"]` or `[cols=3*]`: the column count, when said. */
function columnCount(attributes: readonly string[] | undefined): number | undefined {
  const cols = attributes?.find((attribute) => attribute.startsWith('cols='));
  if (!cols) return undefined;
  const value = cols.slice(5).replaceAll('"', '').trim();
  const star = value.indexOf('*');
  if (star > 0) return Number.parseInt(value.slice(0, star), 10) || undefined;
  return value.split(',').length;
}

function markdownTable(rows: readonly string[][]): string {
  if (rows.length === 0) return '';
  let width = 0;
  for (const row of rows) width = Math.max(width, row.length);
  const line = (row: readonly string[]) =>
    `| ${Array.from({ length: width }, (_, i) => asciidocInline(row[i] ?? '').replaceAll('|', '\\|')).join(' | ')} |`;
  return [
    line(rows[0]!),
    `| ${Array.from({ length: width }, () => '---').join(' | ')} |`,
    ...rows.slice(1).map(line),
  ].join('\n');
}

export function asciidocToMarkdown(source: string): string {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  /** Open example, sidebar, quote and open blocks; an admonition's or a quote's content is quoted. */
  const open: { delimiter: string; quote: boolean }[] = [];
  const emit = (...texts: string[]) => {
    const quoted = open.some((block) => block.quote);
    for (const text of texts) out.push(quoted && text ? `> ${text.split('\n').join('\n> ')}` : text);
  };
  let attributes: string[] | undefined;
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const pending = attributes;
    attributes = undefined;

    // A comment line (`////` opens a comment block, dropped below).
    if (line.startsWith('//') && !delimiterOf(line)) {
      i++;
      continue;
    }
    const delimiter = delimiterOf(line);
    // Example, sidebar, quote and open blocks hold ordinary content, read in place: their
    // delimiter lines (opening and closing alike) say nothing, an admonition's style aside.
    if (delimiter && (COMPOUND.has(delimiter.charAt(0)) || delimiter === '--')) {
      if (open.at(-1)?.delimiter === delimiter) open.pop();
      else {
        const style = pending?.[0] ?? '';
        const admonition = ADMONITIONS.includes(style);
        if (open.length < MAX_OPEN_BLOCKS)
          open.push({ delimiter, quote: admonition || style === 'quote' || delimiter.startsWith('_') });
        emit('');
        if (admonition) emit(`**${capitalised(style)}:**`);
      }
      i++;
      continue;
    }
    if (delimiter) {
      const close = lines.indexOf(delimiter, i + 1);
      const end = close < 0 ? lines.length : close;
      const body = lines.slice(i + 1, end);
      i = end + 1;
      // Listing and literal blocks are code; passthrough (raw HTML) and comment blocks are dropped.
      if (VERBATIM.has(delimiter.charAt(0))) {
        const style = pending?.[0];
        const language = style === 'source' || style === 'listing' ? (pending?.[1] ?? '') : '';
        emit('', fencedCode(body.join('\n'), language), '');
      }
      continue;
    }
    if (line.startsWith('|===')) {
      const close = lines.findIndex((each, index) => index > i && each.startsWith('|==='));
      const end = close < 0 ? lines.length : close;
      emit('', markdownTable(tableRows(lines.slice(i + 1, end), columnCount(pending))), '');
      i = end + 1;
      continue;
    }
    if (isAttributeEntry(line)) {
      i++;
      continue;
    }
    const title = sectionTitle(line);
    if (title) {
      emit('', `${'#'.repeat(title[0])} ${asciidocInline(title[1])}`, '');
      i++;
      continue;
    }
    const attributeList = blockAttributes(line);
    if (attributeList) {
      attributes = attributeList;
      i++;
      continue;
    }
    const trimmed = line.trim();
    // Anchors, includes, images, the table of contents, list continuations: no prose.
    if (
      (trimmed.startsWith('[[') && trimmed.endsWith(']]')) ||
      trimmed === '+' ||
      trimmed.startsWith('include::') ||
      trimmed.startsWith('toc::') ||
      trimmed.startsWith('ifdef::') ||
      trimmed.startsWith('ifndef::') ||
      trimmed.startsWith('endif::')
    ) {
      attributes = pending;
      i++;
      continue;
    }
    if (trimmed.startsWith('image::')) {
      const alt = between(trimmed, trimmed.indexOf('[') + 1, ']')
        ?.text.split(',')[0]
        ?.trim();
      if (alt) emit(asciidocInline(alt));
      i++;
      continue;
    }
    // A block title: `.Installing with npm`.
    if (line.startsWith('.') && line.length > 1 && line.charAt(1) !== '.' && line.charAt(1) !== ' ') {
      emit('', `**${asciidocInline(line.slice(1).trim())}**`);
      attributes = pending;
      i++;
      continue;
    }
    const admonition = ADMONITIONS.find((label) => line.startsWith(`${label}: `));
    if (admonition) {
      emit(`> **${capitalised(admonition)}:** ${asciidocInline(line.slice(admonition.length + 2).trim())}`);
      i++;
      continue;
    }
    const item = listItem(line) ?? descriptionItem(line);
    if (item) {
      i++;
      // A term alone on its line (`timeout::`) has its definition on the indented lines after it.
      const definition: string[] = [];
      if (item.endsWith('**') && !item.startsWith('  ')) {
        while (
          i < lines.length &&
          lines[i]!.trim() &&
          (lines[i]!.startsWith(' ') || lines[i]!.startsWith('\t'))
        ) {
          definition.push(asciidocInline(lines[i]!.trim()));
          i++;
        }
      }
      emit(definition.length > 0 ? `${item}: ${definition.join(' ')}` : item);
      continue;
    }
    // A literal paragraph (indented) is code, as in Markdown; prose is set flush.
    if (trimmed && (line.startsWith(' ') || line.startsWith('\t'))) {
      const start = i;
      while (
        i < lines.length &&
        lines[i]!.trim() &&
        (lines[i]!.startsWith(' ') || lines[i]!.startsWith('\t'))
      )
        i++;
      const block = lines.slice(start, i);
      let indent = Number.MAX_SAFE_INTEGER;
      for (const each of block) indent = Math.min(indent, each.length - each.trimStart().length);
      emit('', fencedCode(block.map((each) => each.slice(indent)).join('\n')), '');
      continue;
    }
    emit(trimmed ? asciidocInline(trimmed) : '');
    i++;
  }
  return out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
