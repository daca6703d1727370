/**
 * AsciiDoc to Markdown for retrieval: section titles (`== Setup`) become headings, listing and
 * literal blocks fenced code (with the language of a `[source,lang]` line), tables Markdown
 * tables, admonitions quotes, lists and description lists Markdown lists, attribute references
 * (`{version}`) the values the document gives them, and inline links and cross references keep
 * their text. Comments, attribute entries, anchors, includes and passthrough blocks carry no
 * prose and are dropped. One pass over the lines and a character scan per line, every search
 * bounded: linear in the input. A pure function, so it can run in the parse pool.
 */
import { fencedCode } from '../../text/fence.js';
import { markdownTable } from '../../text/markdown-table.js';

const ADMONITIONS = ['NOTE', 'TIP', 'IMPORTANT', 'WARNING', 'CAUTION'];

/** Delimited blocks: the character a delimiter line repeats (four or more times). */
const VERBATIM = new Set(['-', '.']);
const COMPOUND = new Set(['=', '*', '_']);
const DROPPED = new Set(['+', '/']);
/** Nesting deeper than this is read as if flat: no document needs it, and it bounds `emit`'s work. */
const MAX_OPEN_BLOCKS = 8;
/** A macro's target is a path or an id: longer is not a macro, and the search for its `[` stops there. */
const MAX_TARGET_CHARS = 512;
/** An attribute reference's name (`{project-version}`): longer is not one. */
const MAX_ATTRIBUTE_NAME = 64;
/** An attribute's value is a name or a version: longer ones are cut. */
const MAX_ATTRIBUTE_VALUE = 256;
/** `2+`, `a`, `.^`, `3*h`: what may stand before a table cell's `|`. */
const CELL_SPECIFIER = '0123456789.+*^<>ahdelmsv';
const MAX_CELL_SPECIFIER = 8;

function capitalised(word: string): string {
  return `${word.charAt(0)}${word.slice(1).toLowerCase()}`;
}

/** `----`, `....`, `====`… (four or more of one delimiter character), `--`, or ''. */
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

/** The positional attributes of a block attribute line (`[source,python]`), or undefined. */
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

/** A block's style: `source` of `[source%nowrap,json]`, '' of `[,yaml]`. */
function styleOf(attributes: readonly string[] | undefined): string {
  const first = attributes?.[0] ?? '';
  const options = first.search(/[%#.]/);
  return options >= 0 ? first.slice(0, options) : first;
}

/** The language of `[source,java]`, `[,yaml]` or `[listing,sh]`. */
function languageOf(attributes: readonly string[] | undefined): string {
  const style = styleOf(attributes);
  if (style !== 'source' && style !== 'listing' && style !== '') return '';
  const language = attributes?.[1] ?? '';
  return language.includes('=') ? '' : language;
}

/** `:name: value` or `:name!:`: [name, value], value undefined when unset; otherwise undefined. */
function attributeEntry(line: string): [string, string | undefined] | undefined {
  if (!line.startsWith(':')) return undefined;
  const end = line.indexOf(':', 1);
  if (end < 2 || end > MAX_ATTRIBUTE_NAME + 2) return undefined;
  const name = line.slice(1, end);
  for (const char of name) if (char === ' ' || char === '\t') return undefined;
  if (end !== line.length - 1 && line.charAt(end + 1) !== ' ') return undefined;
  if (name.startsWith('!') || name.endsWith('!')) return [name.replaceAll('!', ''), undefined];
  return [
    name,
    line
      .slice(end + 1)
      .trim()
      .slice(0, MAX_ATTRIBUTE_VALUE),
  ];
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

/** A macro's text: all of it, unless named attributes follow a comma (`[text,window=_blank]`). */
function macroText(label: string): string {
  const comma = label.indexOf(',');
  const text = comma >= 0 && label.includes('=', comma) ? label.slice(0, comma) : label;
  const trimmed = text.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')
    ? trimmed.slice(1, -1)
    : trimmed;
}

const URL_SCHEMES = ['https://', 'http://', 'mailto:'];
const TEXT_MACROS = ['xref:', 'image:', 'footnote:', 'kbd:', 'btn:', 'menu:', 'pass:', 'icon:'];

function isNameChar(char: string): boolean {
  return (
    (char >= 'a' && char <= 'z') ||
    (char >= 'A' && char <= 'Z') ||
    (char >= '0' && char <= '9') ||
    char === '_' ||
    char === '-'
  );
}

/**
 * Inline markup: `https://host[text]` and `link:url[text]` → [text](url), `xref:file[text]` and
 * `<<id,text>>` → text, `menu:File[Save]` → File › Save, `footnote:[text]` → (text),
 * `` `+literal+` `` → `literal`, `{name}` → the value the document gave it. Bold, italic and
 * monospace marks are Markdown's already. `values` are the attributes defined so far; `budget`
 * bounds what their substitution may add to the document.
 */
export function asciidocInline(
  line: string,
  values: ReadonlyMap<string, string> = new Map(),
  budget: { chars: number } = { chars: 0 },
): string {
  // Where each closing mark last occurs, found once per line (see `between`).
  const lastRef = line.lastIndexOf('>>');
  const lastLabel = line.lastIndexOf(']');
  const lastLiteral = line.lastIndexOf('+`');
  let out = '';
  let i = 0;
  while (i < line.length) {
    const char = line.charAt(i);
    if (char === '{' && values.size > 0) {
      let end = i + 1;
      const limit = Math.min(line.length, end + MAX_ATTRIBUTE_NAME);
      while (end < limit && isNameChar(line.charAt(end))) end++;
      const value = line.charAt(end) === '}' ? values.get(line.slice(i + 1, end)) : undefined;
      if (value !== undefined && budget.chars >= value.length) {
        budget.chars -= value.length;
        out += value;
        i = end + 1;
        continue;
      }
    }
    if (char === '<' && line.charAt(i + 1) === '<') {
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
          const text = macroText(label.text);
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
      const label = line.charAt(open) === '[' ? between(line, open + 1, ']', lastLabel) : undefined;
      if (label) {
        const target = line.slice(i + macro.length, open);
        const text = macroText(label.text);
        if (macro === 'footnote:') out += text ? ` (${text})` : '';
        else if (macro === 'menu:')
          out += [target, ...text.split('>').map((item) => item.trim())].filter(Boolean).join(' › ');
        else if (macro === 'image:' || macro === 'xref:') out += text || target;
        else if (macro !== 'icon:') out += text;
        i = label.end;
        continue;
      }
      // Not a macro: the word scanned is copied as it is, and not scanned again.
      out += line.slice(i, open);
      i = open;
      continue;
    }
    if (char === '`' && line.charAt(i + 1) === '+') {
      const literal = between(line, i + 2, '+`', lastLiteral);
      if (literal) {
        out += `\`${literal.text}\``;
        i = literal.end;
        continue;
      }
    }
    out += char;
    i++;
  }
  return out;
}

/** A list item (`* a`, `** b`, `- c`, `. d`, `.. e`) as its Markdown marker and text, or undefined. */
function listItem(line: string): { marker: string; text: string } | undefined {
  const trimmed = line.trimStart();
  const mark = trimmed.charAt(0);
  if (mark !== '*' && mark !== '.' && mark !== '-') return undefined;
  let depth = 0;
  while (trimmed.charAt(depth) === mark) depth++;
  if (trimmed.charAt(depth) !== ' ' || (mark === '-' && depth > 1)) return undefined;
  const text = trimmed.slice(depth + 1).trim();
  if (!text) return undefined;
  return { marker: `${'  '.repeat(Math.min(depth, 6) - 1)}${mark === '.' ? '1.' : '-'}`, text };
}

/** `term:: definition` → the term and the definition ('' when it follows on the next lines). */
function descriptionItem(line: string): { term: string; text: string } | undefined {
  const trimmedEnd = line.trimEnd();
  const marker = line.indexOf(':: ');
  const bare = trimmedEnd.endsWith('::') && !trimmedEnd.endsWith(':::');
  if (marker <= 0 && !bare) return undefined;
  const at = marker > 0 ? marker : trimmedEnd.length - 2;
  const term = line.slice(0, at).trim();
  if (!term || term.startsWith(':') || term.includes('::') || term.includes('://')) return undefined;
  return { term, text: marker > 0 ? line.slice(marker + 3).trim() : '' };
}

/** Whether `prefix` (the text before a line's first `|`) is a cell specifier, or nothing. */
function isCellSpecifier(prefix: string): boolean {
  const trimmed = prefix.trim();
  if (trimmed.length > MAX_CELL_SPECIFIER) return false;
  for (const char of trimmed) if (!CELL_SPECIFIER.includes(char)) return false;
  return true;
}

/**
 * The cells of a table's lines, in order: a line starting with `|` (after a specifier such as
 * `a` or `2+`) holds cells; any other line continues the cell before it, `|` and all (a command
 * piped to another is one cell's text).
 */
function tableCells(lines: readonly string[]): { cells: string[]; firstLineCells: number } {
  const cells: string[] = [];
  let firstLineCells = 0;
  for (const line of lines) {
    if (!line.trim()) continue;
    const first = line.indexOf('|');
    if (first < 0 || !isCellSpecifier(line.slice(0, first))) {
      if (cells.length > 0) cells[cells.length - 1] += ` ${line.trim()}`;
      else cells.push(line.trim());
      continue;
    }
    let count = 0;
    let current = '';
    for (let i = first + 1; i < line.length; i++) {
      const char = line.charAt(i);
      if (char === '\\' && line.charAt(i + 1) === '|') {
        current += '|';
        i++;
      } else if (char === '|') {
        // A specifier before the next `|` ends this cell's text; it is not content.
        cells.push(current.trim());
        count++;
        current = '';
      } else current += char;
    }
    cells.push(current.trim());
    count++;
    if (firstLineCells === 0) firstLineCells = count;
  }
  return { cells, firstLineCells };
}

/** `[cols="1,2,3"]` or `[cols=3*]`: the column count, when said. */
function columnCount(attributes: readonly string[] | undefined): number | undefined {
  const cols = attributes?.find((attribute) => attribute.startsWith('cols='));
  if (!cols) return undefined;
  const value = cols.slice(5).replaceAll('"', '').trim();
  const star = value.indexOf('*');
  if (star > 0) return Number.parseInt(value.slice(0, star), 10) || undefined;
  return value.split(',').length;
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
  const values = new Map<string, string>();
  // Attribute values may add at most the document's own size again.
  const budget = { chars: Math.max(65_536, source.length) };
  const inline = (text: string) => asciidocInline(text, values, budget);
  /** Whether the line at `index` goes on the paragraph or list item before it. */
  const continues = (index: number) => {
    const next = lines[index];
    if (next === undefined || !next.trim() || next.trim() === '+') return false;
    return (
      !delimiterOf(next) &&
      !next.startsWith('|===') &&
      !sectionTitle(next) &&
      !blockAttributes(next) &&
      !attributeEntry(next) &&
      !listItem(next) &&
      !descriptionItem(next) &&
      !next.startsWith('//')
    );
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
        const style = styleOf(pending);
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
      // Lines are compared as Asciidoctor reads them, without trailing spaces.
      let end = i + 1;
      while (end < lines.length && lines[end]!.trimEnd() !== delimiter) end++;
      const body = lines.slice(i + 1, end);
      i = end + 1;
      // Listing and literal blocks are code; passthrough (raw HTML) and comment blocks are dropped.
      if (VERBATIM.has(delimiter.charAt(0))) emit('', fencedCode(body.join('\n'), languageOf(pending)), '');
      continue;
    }
    if (line.startsWith('|===')) {
      let end = i + 1;
      while (end < lines.length && !lines[end]!.startsWith('|===')) end++;
      const { cells, firstLineCells } = tableCells(lines.slice(i + 1, end).map(inline));
      const width = Math.max(1, columnCount(pending) ?? firstLineCells);
      const rows: string[][] = [];
      for (let at = 0; at < cells.length; at += width) rows.push(cells.slice(at, at + width));
      emit('', ...markdownTable(rows, true), '');
      i = end + 1;
      continue;
    }
    const entry = attributeEntry(line);
    if (entry) {
      if (entry[1] === undefined) values.delete(entry[0]);
      else values.set(entry[0], entry[1]);
      i++;
      continue;
    }
    const title = sectionTitle(line);
    if (title) {
      emit('', `${'#'.repeat(title[0])} ${inline(title[1])}`, '');
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
    // `ifdef::attr[text]` on one line: the text is what readers of one output see.
    if (trimmed.startsWith('ifdef::') || trimmed.startsWith('ifndef::')) {
      const open = trimmed.indexOf('[');
      if (open > 0 && trimmed.endsWith(']') && open < trimmed.length - 2)
        emit(inline(trimmed.slice(open + 1, -1)));
      attributes = pending;
      i++;
      continue;
    }
    // Anchors, includes, the table of contents, list continuations: no prose.
    if (
      (trimmed.startsWith('[[') && trimmed.endsWith(']]')) ||
      trimmed === '+' ||
      trimmed.startsWith('include::') ||
      trimmed.startsWith('toc::') ||
      trimmed.startsWith('endif::')
    ) {
      attributes = pending;
      i++;
      continue;
    }
    if (trimmed.startsWith('image::')) {
      const alt = between(trimmed, trimmed.indexOf('[') + 1, ']')?.text;
      if (alt) emit(inline(macroText(alt)));
      i++;
      continue;
    }
    // A block title: `.Installing with npm`.
    if (line.startsWith('.') && line.length > 1 && line.charAt(1) !== '.' && line.charAt(1) !== ' ') {
      emit('', `**${inline(line.slice(1).trim())}**`);
      attributes = pending;
      i++;
      continue;
    }
    const item = listItem(line);
    const description = item ? undefined : descriptionItem(line);
    if (item || description) {
      // The item's text runs on over the lines after it, indented or not (and a term alone on
      // its line, `timeout::`, has its definition there).
      const text = [item?.text ?? description?.text ?? ''];
      i++;
      while (continues(i)) text.push(lines[i++]!.trim());
      const joined = inline(text.filter(Boolean).join(' '));
      if (item) emit(`${item.marker} ${joined}`);
      else emit(`- **${inline(description!.term)}**${joined ? `: ${joined}` : ''}`);
      continue;
    }
    const style = styleOf(pending);
    // A source paragraph (`[source,sh]` over lines with no delimiters) is code.
    if (trimmed && pending && (style === 'source' || style === 'listing' || style === 'literal')) {
      const start = i;
      while (i < lines.length && lines[i]!.trim()) i++;
      emit('', fencedCode(lines.slice(start, i).join('\n'), languageOf(pending)), '');
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
    const admonition = ADMONITIONS.find((label) => line.startsWith(`${label}: `));
    const label = admonition ?? (ADMONITIONS.includes(style) ? style : undefined);
    if (label) {
      const text = [admonition ? line.slice(admonition.length + 2).trim() : trimmed];
      i++;
      while (continues(i)) text.push(lines[i++]!.trim());
      emit(`> **${capitalised(label)}:** ${inline(text.join(' '))}`);
      continue;
    }
    emit(trimmed ? inline(trimmed) : '');
    i++;
  }
  return out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
