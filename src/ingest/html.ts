/**
 * HTML to Markdown for the chunker, in one linear pass over the events of `html-events.ts`:
 * headings, paragraphs, lists, code blocks, tables, block quotes, emphasis and links are kept;
 * scripts, styles and (for web pages) navigation, headers, footers, asides and forms are
 * dropped. A web page keeps only its `<main>` (else `<article>`, else the element with
 * `role="main"`, else the body). The title, canonical URL, `<base href>` and every link come
 * from the same pass. Output stops at a character budget, so no page can expand without bound.
 */
import { parseHtml } from './html-events.js';

export type HtmlMode =
  /** A crawled web page: only its main content, without navigation, headers, footers, asides or forms. */
  | 'page'
  /** An HTML file: its whole body, without scripts, styles, navigation and footers. */
  | 'file';

export interface HtmlOptions {
  readonly mode: HtmlMode;
  /** Largest Markdown kept, in characters; the rest is cut (`truncated`). */
  readonly maxChars?: number;
  /** Most links listed. */
  readonly maxLinks?: number;
}

export interface HtmlContent {
  readonly title?: string;
  /** `<link rel="canonical">`, else `og:url`. */
  readonly canonical?: string;
  /** `<base href>`, as written. */
  readonly base?: string;
  readonly markdown: string;
  /** `href`s of the anchors, as written (resolve them against `base` and the page's URL). */
  readonly links: readonly string[];
  /** The Markdown reached `maxChars`, or `htmlOutputLimit` of the input, and was cut there. */
  readonly truncated: boolean;
}

const DEFAULT_MAX_CHARS = 10_000_000;
/**
 * Markdown a page may become: a few times its own size (list indents and quote markers repeat
 * on every line) plus room for a short page. Markup that only multiplies (a wide table's
 * padding, nesting) is cut there, so a 28 KB page never becomes millions of characters.
 */
export function htmlOutputLimit(inputChars: number): number {
  return 8 * inputChars + 65_536;
}
const DEFAULT_MAX_LINKS = 5_000;
/** A title longer than this is cut: it heads every chunk of the document. */
const MAX_TITLE_CHARS = 300;

const ALWAYS_DROPPED = [
  'script',
  'style',
  'noscript',
  'template',
  'svg',
  'math',
  'iframe',
  'object',
  'canvas',
  'head',
  'title',
  // GitHub's copy button beside each code block: a control, not text.
  'clipboard-copy',
];
const DROPPED: Record<HtmlMode, ReadonlySet<string>> = {
  file: new Set([...ALWAYS_DROPPED, 'nav', 'footer']),
  page: new Set([
    ...ALWAYS_DROPPED,
    'nav',
    'header',
    'footer',
    'aside',
    'form',
    'button',
    'select',
    'dialog',
  ]),
};

const BLOCKS = new Set([
  'address',
  'article',
  'aside',
  'body',
  'center',
  'details',
  'dialog',
  'div',
  'dl',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'form',
  'header',
  'hgroup',
  'html',
  'main',
  'menu',
  'nav',
  'p',
  'section',
  'summary',
]);
const LINE_BLOCKS = new Set(['dt', 'dd', 'caption', 'legend', 'option']);
const STRONG = new Set(['b', 'strong']);
const EMPHASIS = new Set(['i', 'em']);
/** Deeper lists and quotes are indented no further: a line's prefix stays short on any nesting. */
const MAX_INDENT_LEVELS = 8;

const isSpace = (code: number) =>
  code === 32 || code === 9 || code === 10 || code === 13 || code === 12 || code === 0xa0;

/** Collapses runs of whitespace to one space, as a browser renders them. */
function collapse(text: string): string {
  let out = '';
  let space = false;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    if (isSpace(text.charCodeAt(i))) {
      if (!space) {
        out += `${text.slice(from, i)} `;
        space = true;
      }
      from = i + 1;
    } else space = false;
  }
  return out + text.slice(from);
}

function longestRun(text: string, char: string): number {
  let longest = 0;
  let run = 0;
  for (const c of text) {
    run = c === char ? run + 1 : 0;
    if (run > longest) longest = run;
  }
  return longest;
}

function repeat(char: string, count: number): string {
  return char.repeat(count);
}

/** A link destination Markdown cannot misread: spaces and parentheses percent-encoded. */
function destination(href: string): string {
  return href.split(' ').join('%20').split('(').join('%28').split(')').join('%29');
}

/** Relative links and the schemes worth keeping; `javascript:`, `data:` and the like are not links. */
function keptHref(href: string): boolean {
  const colon = href.indexOf(':');
  if (colon === -1) return true;
  const slash = href.indexOf('/');
  if (slash !== -1 && slash < colon) return true;
  const scheme = href.slice(0, colon).toLowerCase();
  return scheme === 'http' || scheme === 'https' || scheme === 'mailto';
}

/** What the writer writes into: the document, or a table cell or inline code being collected. */
interface Sink {
  text: string;
  /** Everything becomes one line (table cells, inline code). */
  readonly flat: boolean;
  /** A space is owed before the next text. */
  space: boolean;
  /** Newlines owed before the next text (0, 1 or 2). */
  breaks: number;
  /** Opening markup (`**`, `[`, `# `) written just before the next text, if any comes. */
  readonly marks: Mark[];
  /** Marks before this index are written: a write looks only at those opened since the last one. */
  unwritten: number;
}

/** Markup around an element's text, written only if the element has text. */
export interface Mark {
  readonly open: string;
  written: boolean;
}

interface Indent {
  /** Written at the start of every line inside. */
  readonly continuation: string;
  /** Written instead of `continuation` at the start of the next line (a list marker), once. */
  first?: string;
}

interface TableState {
  rows: string[][];
  row?: string[];
  /**
   * Code blocks found in the table's cells (line numbers aside). A table whose every cell is
   * code or line numbers is a layout for a listing (Sphinx's and Hugo's line-numbered listings
   * put the numbers in one cell and the code in the next): the code is written as one block
   * instead of the table. Any other table is data, and keeps every cell.
   */
  code?: { text: string; language?: string }[];
  /** Whether the cell being read held a `<pre>`. */
  cellHeldCode?: boolean;
  /** False once a cell holds something other than code or line numbers. */
  layout: boolean;
}

/** Text a permalink shows (`<a class="headerlink" href="#usage">¶</a>`): a mark, not a word. */
const PERMALINK_MARKS = new Set(['¶', '§', '#', '🔗', '∞', '⚓', '\u200b', '\ufeff']);

const sink = (flat: boolean): Sink => ({ text: '', flat, space: false, breaks: 0, marks: [], unwritten: 0 });

/**
 * Builds Markdown from HTML events. Every character is copied at most twice (a table cell or
 * inline code is collected once, then written; nothing nested inside them is collected again),
 * so the work stays linear however deeply the markup nests.
 */
class MarkdownWriter {
  private readonly out: Sink = sink(false);
  private sinks: Sink[] = [this.out];
  private indents: Indent[] = [];
  /** Elements that keep a heading on one line. */
  private oneLine = 0;
  truncated = false;

  constructor(private readonly maxChars: number) {}

  private get current(): Sink {
    return this.sinks.at(-1)!;
  }

  get length(): number {
    return this.out.text.length;
  }

  /** Text written so far into the document. */
  slice(from: number, to?: number): string {
    return this.out.text.slice(from, to);
  }

  private prefix(first: boolean): string {
    let text = '';
    const from = Math.max(0, this.indents.length - MAX_INDENT_LEVELS);
    for (let i = from; i < this.indents.length; i++) {
      const indent = this.indents[i]!;
      if (first && indent.first !== undefined) {
        text += indent.first;
        indent.first = undefined;
      } else text += indent.continuation;
    }
    return text;
  }

  private append(target: Sink, text: string): void {
    if (target === this.out) {
      if (this.truncated) return;
      if (target.text.length + text.length > this.maxChars) {
        target.text += text.slice(0, Math.max(0, this.maxChars - target.text.length));
        this.truncated = true;
        return;
      }
    }
    target.text += text;
  }

  private get isFlat(): boolean {
    return this.current.flat || this.oneLine > 0;
  }

  /** Inline text, whitespace collapsed; `raw` writes it as it is (code). */
  write(text: string, raw = false): void {
    const target = this.current;
    let body = raw ? text : collapse(text);
    if (!raw) {
      if (body.startsWith(' ')) {
        target.space = true;
        body = body.slice(1);
      }
      if (!body) return;
    }
    const trailing = !raw && body.endsWith(' ');
    if (trailing) body = body.slice(0, -1);
    let lineStart = false;
    if (!target.text) {
      if (!target.flat) {
        this.append(target, this.prefix(true));
        lineStart = true;
      } else if (target.space) this.append(target, ' ');
    } else if (target.breaks > 0 && !target.flat) {
      const blank = this.prefix(false).trimEnd();
      this.append(
        target,
        target.breaks === 2 ? `\n${blank}\n${this.prefix(true)}` : `\n${this.prefix(true)}`,
      );
      lineStart = true;
    } else if (target.space || target.breaks > 0) this.append(target, ' ');
    target.breaks = 0;
    target.space = trailing;
    let marks = '';
    // Only marks opened since the last write can be unwritten: each mark is looked at once.
    for (let i = target.unwritten; i < target.marks.length; i++) {
      const mark = target.marks[i]!;
      if (!mark.written) {
        marks += mark.open;
        mark.written = true;
      }
    }
    target.unwritten = target.marks.length;
    if (lineStart && !raw && !marks) body = escapeLineStart(body);
    this.append(target, marks + body);
  }

  /** Opens markup (`**`, `[`) that is written before the element's first text, if it has any. */
  openMark(open: string): Mark {
    const mark = { open, written: false };
    this.current.marks.push(mark);
    return mark;
  }

  /** Closes `mark`: `close` follows the element's text if the opening was written. */
  closeMark(mark: Mark, close: string): void {
    const target = this.current;
    const marks = target.marks;
    // Elements close innermost first: the mark is the last one, found and removed in O(1).
    const at = marks.at(-1) === mark ? marks.length - 1 : marks.lastIndexOf(mark);
    if (at !== -1) {
      if (at === marks.length - 1) marks.pop();
      else marks.splice(at, 1);
      if (at < target.unwritten) target.unwritten -= 1;
    }
    if (mark.written) this.append(target, close);
  }

  /** Markup written as it is, where text would go (a rule, a fence line). */
  mark(text: string): void {
    this.write(text, true);
  }

  /** A heading: one line, `#`s before its text. */
  openHeading(level: number): Mark {
    this.block();
    this.oneLine += 1;
    return this.openMark(`${'#'.repeat(level)} `);
  }

  closeHeading(mark: Mark): void {
    this.closeMark(mark, '');
    this.oneLine -= 1;
    this.block();
  }

  /** Ends the line (`<br>`); in one-line contexts a space. */
  lineBreak(): void {
    const target = this.current;
    if (this.isFlat) target.space = true;
    else if (target.text) target.breaks = Math.max(target.breaks, 1);
  }

  /** Ends the block: a blank line before the next text. */
  block(): void {
    const target = this.current;
    if (this.isFlat) target.space = true;
    else if (target.text) {
      target.breaks = 2;
      target.space = false;
    }
  }

  indent(continuation: string, first?: string): void {
    this.indents.push({ continuation, ...(first !== undefined ? { first } : {}) });
  }

  outdent(): void {
    this.indents.pop();
  }

  /** Collects what follows into a one-line buffer (a table cell, inline code) until `endCollect`. */
  collect(): void {
    this.sinks.push(sink(true));
  }

  /** The collected text, trimmed. */
  endCollect(): string {
    if (this.sinks.length === 1) return '';
    return this.sinks.pop()!.text.trim();
  }

  /** True while collecting: nothing nested is collected again. */
  get collecting(): boolean {
    return this.sinks.length > 1;
  }

  get flat(): boolean {
    return this.isFlat;
  }
}

/** A `#` or a fence at the start of a line would become a heading or a code block. */
function escapeLineStart(text: string): string {
  if (text.startsWith('#') || text.startsWith('```') || text.startsWith('~~~')) return `\\${text}`;
  return text;
}

interface Region {
  start: number;
  end?: number;
}

/** Reads `html` into Markdown, its title, canonical URL, base and links. */
export function readHtml(html: string, options: HtmlOptions): HtmlContent {
  const dropped = DROPPED[options.mode];
  const maxLinks = options.maxLinks ?? DEFAULT_MAX_LINKS;
  const writer = new MarkdownWriter(
    Math.min(options.maxChars ?? DEFAULT_MAX_CHARS, htmlOutputLimit(html.length)),
  );
  const links: string[] = [];
  let title: string | undefined;
  let firstH1: string | undefined;
  let canonical: string | undefined;
  let ogUrl: string | undefined;
  let base: string | undefined;

  let dropDepth = 0;
  let titleText: string | undefined;
  let h1Text: string | undefined;
  /** Open elements that write something at their end, by depth. */
  const closers: { depth: number; close: () => void }[] = [];
  let depth = 0;
  const lists: { ordered: boolean; next: number }[] = [];
  const tables: TableState[] = [];
  let pre: { text: string; language?: string; wrapper?: string; table?: TableState } | undefined;
  /** The language a code block's wrapper names (`<div class="highlight-python">`), by depth. */
  let wrapper: { depth: number; language: string } | undefined;
  /** The depth of an open in-page link, whose text may be only a permalink's mark. */
  let permalinkDepth = 0;
  let preDepth = 0;
  const regions: Partial<Record<'main' | 'article' | 'role', Region>> = {};
  const regionStack: (keyof typeof regions | undefined)[] = [];

  const onClose = (_name: string, close: () => void) => closers.push({ depth, close });

  parseHtml(html, {
    open(name, attributes) {
      depth += 1;
      if (name === 'title' && title === undefined && titleText === undefined) titleText = '';
      if (name === 'base' && base === undefined && attributes.href) base = attributes.href.trim();
      if (name === 'link' && canonical === undefined && attributes.href) {
        if ((attributes.rel ?? '').toLowerCase().split(' ').includes('canonical'))
          canonical = attributes.href.trim();
      }
      if (name === 'meta' && ogUrl === undefined && attributes.property === 'og:url' && attributes.content)
        ogUrl = attributes.content.trim();
      if (name === 'a' && attributes.href !== undefined && links.length < maxLinks)
        links.push(attributes.href);
      if (name === 'h1' && firstH1 === undefined && h1Text === undefined) h1Text = '';

      // Regions are tracked even inside dropped elements' siblings; never inside dropped ones.
      let region: keyof typeof regions | undefined;
      if (dropDepth === 0) {
        if (name === 'main' && !regions.main) region = 'main';
        else if (name === 'article' && !regions.article) region = 'article';
        else if (attributes.role === 'main' && !regions.role) region = 'role';
        if (region) {
          writer.block();
          regions[region] = { start: writer.length };
        }
      }
      regionStack.push(region);

      if (dropDepth > 0 || dropped.has(name) || attributes.hidden !== undefined) {
        dropDepth += 1;
        return;
      }
      if (!pre && !wrapper && attributes.class) {
        const language = wrapperLanguage(attributes.class);
        if (language) wrapper = { depth, language };
      }
      if (pre) {
        preDepth += 1;
        if (name === 'br') pre.text += '\n';
        // `<pre><code class="language-js">`, as Markdown renderers write it.
        if (name === 'code' && !pre.language) {
          const language = codeLanguage(attributes.class);
          if (language) pre.language = language;
        }
        return;
      }
      if (BLOCKS.has(name)) writer.block();
      else if (LINE_BLOCKS.has(name)) writer.lineBreak();
      switch (name) {
        case 'h1':
        case 'h2':
        case 'h3':
        case 'h4':
        case 'h5':
        case 'h6': {
          const mark = writer.openHeading(Number(name[1]));
          onClose(name, () => writer.closeHeading(mark));
          return;
        }
        case 'br':
          writer.lineBreak();
          return;
        case 'hr':
          writer.block();
          if (!writer.flat) {
            writer.mark('---');
            writer.block();
          }
          return;
        case 'img': {
          const alt = collapse(attributes.alt ?? '').trim();
          if (alt) writer.write(` ${alt} `);
          return;
        }
        case 'pre': {
          writer.block();
          const language = codeLanguage(attributes.class);
          const table = writer.collecting ? tables.at(-1) : undefined;
          pre = {
            text: '',
            ...(language ? { language } : {}),
            ...(wrapper ? { wrapper: wrapper.language } : {}),
            ...(table ? { table } : {}),
          };
          preDepth = 0;
          return;
        }
        case 'code':
        case 'kbd':
        case 'samp':
          if (writer.collecting) return;
          writer.collect();
          onClose(name, () => {
            const code = writer.endCollect();
            if (!code) return;
            const ticks = repeat('`', longestRun(code, '`') + 1);
            const pad = code.startsWith('`') || code.endsWith('`') ? ' ' : '';
            writer.write(`${ticks}${pad}${code}${pad}${ticks}`, true);
          });
          return;
        case 'ul':
        case 'ol':
        case 'menu': {
          writer.block();
          const start = Number.parseInt(attributes.start ?? '1', 10);
          lists.push({ ordered: name === 'ol', next: Number.isFinite(start) ? start : 1 });
          onClose(name, () => {
            lists.pop();
            writer.block();
          });
          return;
        }
        case 'li': {
          writer.lineBreak();
          const list = lists.at(-1);
          const marker = list?.ordered ? `${list.next++}. ` : '* ';
          writer.indent(repeat(' ', marker.length), marker);
          onClose(name, () => {
            writer.outdent();
            writer.lineBreak();
          });
          return;
        }
        case 'blockquote':
          writer.block();
          writer.indent('> ');
          onClose(name, () => {
            writer.outdent();
            writer.block();
          });
          return;
        case 'table':
          // A table inside a cell is read as the cell's text.
          if (writer.collecting) return;
          writer.block();
          tables.push({ rows: [], layout: true });
          onClose(name, () => {
            const table = tables.pop();
            if (table?.code && table.layout) {
              for (const code of table.code) writeCodeBlock(writer, code.text, code.language);
            } else if (table) writeTable(writer, table);
            writer.block();
          });
          return;
        case 'tr': {
          const table = tables.at(-1);
          if (!table || writer.collecting) return;
          table.row = [];
          table.rows.push(table.row);
          return;
        }
        case 'td':
        case 'th': {
          const table = tables.at(-1);
          if (!table || writer.collecting) {
            writer.write(' ');
            return;
          }
          if (!table.row) {
            table.row = [];
            table.rows.push(table.row);
          }
          const row = table.row;
          writer.collect();
          table.cellHeldCode = false;
          onClose(name, () => {
            const text = writer.endCollect();
            if (!table.cellHeldCode && !onlyDigits(text)) table.layout = false;
            row.push(text.split('|').join('\\|'));
          });
          return;
        }
      }
      if (STRONG.has(name) || EMPHASIS.has(name)) {
        const close = STRONG.has(name) ? '**' : '_';
        const mark = writer.openMark(close);
        onClose(name, () => writer.closeMark(mark, close));
        return;
      }
      if (name === 'a') {
        const href = attributes.href?.trim();
        if (href?.startsWith('#') && permalinkDepth === 0) {
          permalinkDepth = depth;
          onClose(name, () => {
            permalinkDepth = 0;
          });
        }
        if (!href || href.startsWith('#') || !keptHref(href)) return;
        const mark = writer.openMark('[');
        onClose(name, () => writer.closeMark(mark, `](${destination(href)})`));
      }
    },

    text(text) {
      if (permalinkDepth > 0 && PERMALINK_MARKS.has(text.trim())) return;
      if (titleText !== undefined && titleText.length < MAX_TITLE_CHARS * 4) titleText += text;
      if (h1Text !== undefined && h1Text.length < MAX_TITLE_CHARS * 4) h1Text += text;
      if (dropDepth > 0) return;
      if (pre) {
        pre.text += text;
        return;
      }
      writer.write(text);
    },

    close(name) {
      if (name === 'title' && titleText !== undefined) {
        title = collapse(titleText).trim().slice(0, MAX_TITLE_CHARS) || undefined;
        titleText = undefined;
      }
      if (name === 'h1' && h1Text !== undefined) {
        firstH1 = collapse(h1Text).trim().slice(0, MAX_TITLE_CHARS) || undefined;
        h1Text = undefined;
      }
      const region = regionStack.pop();
      if (wrapper?.depth === depth) wrapper = undefined;
      if (dropDepth > 0) {
        dropDepth -= 1;
      } else if (pre) {
        if (preDepth > 0) preDepth -= 1;
        else {
          // In a table cell the code is also the cell's text, in case the table is data.
          const language = pre.language ?? pre.wrapper;
          writeCodeBlock(writer, pre.text, language);
          if (pre.table) {
            pre.table.cellHeldCode = true;
            if (!onlyDigits(pre.text)) {
              pre.table.code ??= [];
              pre.table.code.push({ text: pre.text, ...(language ? { language } : {}) });
            }
          }
          pre = undefined;
        }
      } else {
        const closer = closers.at(-1);
        if (closer?.depth === depth) {
          closers.pop();
          closer.close();
        }
        if (BLOCKS.has(name)) writer.block();
        else if (LINE_BLOCKS.has(name)) writer.lineBreak();
      }
      if (region) {
        writer.block();
        regions[region]!.end = writer.length;
      }
      depth -= 1;
    },
  });

  const chosen = regions.main ?? regions.article ?? regions.role;
  const markdown = (
    chosen && options.mode === 'page' ? writer.slice(chosen.start, chosen.end) : writer.slice(0)
  ).trim();
  const heading = title ?? firstH1;
  const url = canonical ?? ogUrl;
  return {
    ...(heading ? { title: heading } : {}),
    ...(url ? { canonical: url } : {}),
    ...(base ? { base } : {}),
    markdown,
    links,
    truncated: writer.truncated,
  };
}

function codeLanguage(className: string | undefined): string | undefined {
  for (const name of (className ?? '').split(' ')) {
    for (const prefix of ['language-', 'lang-']) {
      if (name.startsWith(prefix)) {
        const language = name.slice(prefix.length);
        // A word only: the info string is one line and cannot close the fence.
        let word = true;
        for (let i = 0; i < language.length; i++) {
          const code = language.charCodeAt(i);
          if (isSpace(code) || code === 96 || code === 126) word = false;
        }
        if (word && language) return language;
      }
    }
  }
  return undefined;
}

/** Wrappers' names for non-languages: Sphinx's default lexer, GitHub's plain text. */
const NOT_LANGUAGES = new Set(['default', 'none', 'text', 'plaintext', 'plain']);

/**
 * The language a code block's wrapper names: MkDocs' `language-python`, Sphinx's
 * `highlight-python`, GitHub's `highlight-source-shell`.
 */
function wrapperLanguage(className: string): string | undefined {
  const own = codeLanguage(className);
  if (own) return own;
  for (const name of className.split(' ')) {
    if (!name.startsWith('highlight-')) continue;
    const rest = name.startsWith('highlight-source-') ? name.slice(17) : name.slice(10);
    if (!rest || rest.includes('-') || NOT_LANGUAGES.has(rest)) continue;
    return codeLanguage(`language-${rest}`);
  }
  return undefined;
}

function writeCodeBlock(writer: MarkdownWriter, text: string, language: string | undefined): void {
  const body = text.startsWith('\n') ? text.slice(1) : text;
  if (!body.trim()) return;
  if (writer.flat) {
    writer.write(body);
    return;
  }
  const fence = repeat('`', Math.max(3, longestRun(body, '`') + 1));
  writer.block();
  const lines = body.trimEnd().split('\n');
  writer.write(`${fence}${language ?? ''}`, true);
  for (const line of lines) {
    writer.lineBreak();
    writer.write(line || ' ', true);
  }
  writer.lineBreak();
  writer.write(fence, true);
  writer.block();
}

/** Columns of a table kept; further cells join the last column. */
const MAX_TABLE_COLUMNS = 32;

/**
 * A GFM table: the header row padded to the widest row (up to `MAX_TABLE_COLUMNS`), each other
 * row as many cells as it has (GFM fills the rest), so a table costs what its cells hold,
 * never rows times the widest row; rows stop once the output is full.
 */
function onlyDigits(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (!isSpace(code) && (code < 48 || code > 57)) return false;
  }
  return true;
}

function writeTable(writer: MarkdownWriter, table: TableState): void {
  const rows = table.rows.filter((row) => row.length > 0);
  if (rows.length === 0) return;
  if (writer.flat) {
    writer.write(rows.map((row) => row.join(' ')).join(' '));
    return;
  }
  let columns = 0;
  for (const row of rows) columns = Math.min(MAX_TABLE_COLUMNS, Math.max(columns, row.length));
  const line = (cells: readonly string[], pad: boolean) => {
    const kept =
      cells.length > columns
        ? [...cells.slice(0, columns - 1), cells.slice(columns - 1).join(' ')]
        : [...cells];
    while (pad && kept.length < columns) kept.push('');
    return `| ${kept.join(' | ')} |`;
  };
  writer.block();
  writer.write(line(rows[0]!, true), true);
  writer.lineBreak();
  writer.write(
    line(
      Array.from({ length: columns }, () => '---'),
      true,
    ),
    true,
  );
  for (let i = 1; i < rows.length && !writer.truncated; i++) {
    writer.lineBreak();
    writer.write(line(rows[i]!, false), true);
  }
  writer.block();
}

export interface PageContent {
  readonly title?: string;
  readonly markdown: string;
  /** In-page links resolved against the page (and its `<base href>`), http(s) only, without fragments. */
  readonly links: readonly string[];
  readonly truncated: boolean;
}

/** A crawled page's main content, title and links. */
export function readPage(html: string, pageUrl: string, options: { maxChars?: number } = {}): PageContent {
  const content = readHtml(html, { mode: 'page', ...options });
  return {
    ...(content.title ? { title: content.title } : {}),
    markdown: content.markdown,
    links: resolveLinks(content.links, content.base, pageUrl),
    truncated: content.truncated,
  };
}

/** Links resolved against `<base href>` (itself resolved against the page), http(s) only, fragments dropped, each once. */
export function resolveLinks(hrefs: readonly string[], base: string | undefined, pageUrl: string): string[] {
  let root: URL;
  try {
    root = new URL(base ?? pageUrl, pageUrl);
  } catch {
    root = new URL(pageUrl);
  }
  const out = new Set<string>();
  for (const raw of hrefs) {
    const href = raw.trim();
    if (!href || href.startsWith('#')) continue;
    let url: URL;
    try {
      url = new URL(href, root);
    } catch {
      continue; // A malformed link is simply not followed.
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
    url.hash = '';
    out.add(url.href);
  }
  return [...out];
}

/** The readable part of a web page (kept for callers that want it alone). */
export function extractMainContent(html: string): { readonly title?: string; readonly markdown: string } {
  const { title, markdown } = readHtml(html, { mode: 'page' });
  return { ...(title ? { title } : {}), markdown };
}

/** Every link of the page, resolved. */
export function extractLinks(html: string, base: string): URL[] {
  const content = readHtml(html, { mode: 'page', maxChars: 0 });
  return resolveLinks(content.links, content.base, base).map((href) => new URL(href));
}
