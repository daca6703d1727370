/**
 * Markdown as a flat list of blocks (headings, paragraphs, code, lists, tables, quotes), parsed
 * by markdown-it, whose block and inline parsers run in linear time on any input: no pattern of
 * ours ever runs over a document's markup. What comes out is clean Markdown again:
 *   - headings are plain text (badges, images and link targets dropped, link text kept);
 *   - raw HTML becomes text through htmlparser2 (html-fragment.ts), its tags dropped;
 *   - images are dropped, and so is a link that held only images (a README's badge row);
 *   - links keep their target only when it is a web address (a relative path means nothing
 *     outside the repository it came from).
 * Ingestion chunks with it, and the offline answerer reads passages with it.
 */
import { createRequire } from 'node:module';
import type MarkdownItModule from 'markdown-it';
import type { MarkdownIt as Parser, Token } from 'markdown-it';
import { fence } from './fence.js';
import { htmlFragmentBlocks, inlineTag } from './html-fragment.js';

export type Block =
  /**
   * `summary`: a `<details>` element's summary, which names what follows like a heading one
   * level below the last real one (READMEs fold whole sections that way).
   */
  | { readonly kind: 'heading'; readonly level: number; readonly text: string; readonly summary?: boolean }
  | { readonly kind: 'paragraph'; readonly text: string }
  | { readonly kind: 'code'; readonly lang: string; readonly code: string }
  | { readonly kind: 'list'; readonly ordered: boolean; readonly items: readonly string[] }
  | { readonly kind: 'table'; readonly header: string; readonly rows: readonly string[] }
  | { readonly kind: 'quote'; readonly text: string };

let parser: Parser | undefined;

function markdownIt(): Parser {
  if (parser) return parser;
  // Loaded on first use (several MB resident): a bot that only answers with a model never needs it.
  const MarkdownIt = createRequire(import.meta.url)('markdown-it') as typeof MarkdownItModule;
  // Linkify is off: bare URLs stay text, and its matcher is the one part not needed here.
  parser = new MarkdownIt('default', { html: true, linkify: false, typographer: false });
  boundBlockquotes(parser);
  return parser;
}

type BlockRule = Parser['block']['ruler']['__rules__'][number];

/** Lines a blockquote is first parsed within; each retry doubles it. */
const FIRST_WINDOW_LINES = 64;

/**
 * markdown-it's blockquote rule first marks every line the quote could lazily continue over,
 * which can run to the end of the document, then parses it and often uses only a line or two
 * ("a\n>```\n" repeated: a quoted fence ends at the next unquoted line, and the next quote
 * starts the scan to the end again), so such a document takes time growing with its square.
 * The rule is run here within a window of lines instead: when the quote ends well inside the
 * window, nothing beyond it could have changed it and the result stands; otherwise it is undone
 * and run again in a window twice as large. Each quote then costs at most a few times the
 * lines it really holds, so the whole parse stays linear.
 */
export function boundBlockquotes(md: Parser, firstWindow = FIRST_WINDOW_LINES): void {
  const rule = md.block.ruler.__rules__.find((candidate: BlockRule) => candidate.name === 'blockquote');
  if (!rule) return;
  const original = rule.fn;
  /**
   * What each quote needed last time, by nesting depth and first line, for the parse under
   * way. A quote inside a quote is parsed again whenever the one around it is retried in a
   * larger window; growing its own window from the start each time made the retries multiply
   * at every level of nesting (a 22 KB file of quotes nested 50 deep took 15 s). It starts
   * instead from the window it last needed, or, when it ran to the end of the lines it was
   * given, from all the lines it is given now: each quote is then parsed about once per retry
   * of the outermost one, however deep it sits.
   */
  const needed = new WeakMap<object, Map<number, { window: number; toEnd: boolean }>[]>();
  let depth = 0;
  md.block.ruler.at(
    'blockquote',
    (state, startLine, endLine, silent) => {
      if (silent) return original(state, startLine, endLine, true);
      const tokens = state.tokens.length;
      const level = state.level;
      const byDepth = needed.get(state) ?? [];
      needed.set(state, byDepth);
      const quotes = byDepth[depth] ?? new Map<number, { window: number; toEnd: boolean }>();
      byDepth[depth] = quotes;
      const last = quotes.get(startLine);
      const first = !last
        ? firstWindow
        : last.toEnd
          ? Math.max(last.window, endLine - startLine)
          : last.window;
      depth++;
      try {
        for (let window = first; ; window *= 2) {
          const limit = Math.min(endLine, startLine + window);
          if (!original(state, startLine, limit, false)) return false;
          // A margin of two lines for rules that look one line ahead (tables, setext headings).
          const ended = state.line < limit - 2;
          if (ended || limit >= endLine) {
            quotes.set(startLine, { window, toEnd: !ended });
            return true;
          }
          state.tokens.length = tokens;
          state.level = level;
          state.line = startLine;
        }
      } finally {
        depth--;
      }
    },
    { alt: [...rule.alt] },
  );
}

function isWebAddress(href: string): boolean {
  return href.startsWith('https://') || href.startsWith('http://') || href.startsWith('mailto:');
}

/** Inline tokens as Markdown (`plain`: as text with no markup at all, for titles). */
export function inlineText(children: readonly Token[] | null, plain = false): string {
  let out = '';
  /** Per open link: where its text starts in `out`, its target, and whether any text was written. */
  const links: { start: number; href: string; shown: boolean }[] = [];
  /** Inside `<script>`, `<style>` and the like: nothing is written. */
  let hidden = 0;
  const write = (text: string) => {
    if (hidden > 0) return;
    out += text;
    if (text.trim()) for (const link of links) link.shown = true;
  };
  for (const token of children ?? []) {
    switch (token.type) {
      case 'text':
        write(token.content);
        break;
      case 'code_inline':
        write(plain ? token.content : `${token.markup}${token.content}${token.markup}`);
        break;
      case 'softbreak':
        // A line wrapped in the source is one line of text.
        out += ' ';
        break;
      case 'hardbreak':
        out += plain ? ' ' : '\n';
        break;
      case 'html_inline': {
        const tag = inlineTag(token.content);
        hidden = Math.max(0, hidden + tag.hides);
        if (tag.text === '\n') out += plain ? ' ' : '\n';
        else write(plain ? '' : tag.text);
        break;
      }
      case 'image':
        // Badges and pictures say nothing a text answer can show.
        break;
      case 'link_open': {
        const href = String(token.attrGet('href') ?? '');
        links.push({ start: out.length, href: token.info === 'auto' ? '' : href, shown: false });
        if (!plain && isWebAddress(href) && token.info !== 'auto') out += '[';
        break;
      }
      case 'link_close': {
        const link = links.pop();
        if (!link) break;
        if (!link.shown) {
          // A link around images only: drop what it wrote ('[') along with it.
          out = out.slice(0, link.start);
          break;
        }
        if (!plain && isWebAddress(link.href)) out += `](${link.href})`;
        break;
      }
      default:
        // Emphasis and strikethrough markers: kept in Markdown, dropped from plain text.
        if (!plain && token.markup && (token.type.endsWith('_open') || token.type.endsWith('_close')))
          out += token.markup;
    }
  }
  return plain ? collapseSpaces(out) : out.trim();
}

function collapseSpaces(text: string): string {
  let out = '';
  let space = false;
  for (const char of text) {
    if (char.trim() === '') space = out.length > 0;
    else {
      if (space) out += ' ';
      out += char;
      space = false;
    }
  }
  return out;
}

/** Longest run of `char` in `text`. */
/** One block as Markdown text. */
export function blockMarkdown(block: Block): string {
  switch (block.kind) {
    case 'heading':
      return block.summary ? `**${block.text}**` : `${'#'.repeat(block.level)} ${block.text}`;
    case 'paragraph':
    case 'quote':
      return block.kind === 'quote' ? prefixLines(block.text, '> ', '> ') : block.text;
    case 'code':
      return fence(block.code, block.lang);
    case 'list':
      return block.items.join('\n');
    case 'table':
      return [block.header, ...block.rows].join('\n');
  }
}

function prefixLines(text: string, first: string, rest: string): string {
  return text
    .split('\n')
    .map((line, i) => (i === 0 ? first : rest) + line)
    .join('\n');
}

/** Index of each opening token's closing token, found in one pass. */
function closers(tokens: readonly Token[]): Int32Array {
  const close = new Int32Array(tokens.length).fill(-1);
  const open: number[] = [];
  tokens.forEach((token, i) => {
    if (token.nesting === 1) open.push(i);
    else if (token.nesting === -1) {
      const start = open.pop();
      if (start !== undefined) close[start] = i;
    }
  });
  return close;
}

class Reader {
  private readonly close: Int32Array;

  constructor(private readonly tokens: readonly Token[]) {
    this.close = closers(tokens);
  }

  /** The blocks between token `from` (inclusive) and `to` (exclusive). */
  blocks(from: number, to: number): Block[] {
    const out: Block[] = [];
    let i = from;
    while (i < to) {
      const token = this.tokens[i]!;
      const end = token.nesting === 1 ? Math.max(i, this.close[i] ?? i) : i;
      this.block(token, i, end, out);
      i = end + 1;
    }
    return out;
  }

  private block(token: Token, start: number, end: number, out: Block[]): void {
    switch (token.type) {
      case 'heading_open': {
        const text = inlineText(this.tokens[start + 1]?.children ?? null, true);
        if (text) out.push({ kind: 'heading', level: Number(token.tag.slice(1)) || 1, text });
        return;
      }
      case 'paragraph_open': {
        const text = inlineText(this.tokens[start + 1]?.children ?? null);
        if (text) out.push({ kind: 'paragraph', text });
        return;
      }
      case 'fence':
        out.push({ kind: 'code', lang: token.info.trim(), code: token.content });
        return;
      case 'code_block':
        out.push({ kind: 'code', lang: '', code: token.content });
        return;
      case 'html_block':
        for (const part of htmlFragmentBlocks(token.content)) {
          if (part.kind === 'code') out.push({ kind: 'code', lang: '', code: part.code });
          else if (part.kind === 'heading') out.push(part);
          else if (part.kind === 'summary')
            out.push({ kind: 'heading', level: 0, text: part.text, summary: true });
          else out.push({ kind: 'paragraph', text: part.text });
        }
        return;
      case 'bullet_list_open':
      case 'ordered_list_open': {
        // A table of contents repeats the headings: it would only compete with the sections.
        if (this.linksWithinDocument(start, end)) return;
        const items = this.listItems(token, start, end);
        if (items.length > 0) out.push({ kind: 'list', ordered: token.type === 'ordered_list_open', items });
        return;
      }
      case 'blockquote_open': {
        const text = this.blocks(start + 1, end)
          .map(blockMarkdown)
          .join('\n\n');
        if (text) out.push({ kind: 'quote', text });
        return;
      }
      case 'table_open': {
        const rows = this.tableRows(start, end);
        if (rows.length > 0) {
          const width = rows[0]!.length;
          const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
          out.push({
            kind: 'table',
            header: `${line(rows[0]!)}\n${line(Array.from({ length: width }, () => '---'))}`,
            rows: rows.slice(1).map(line),
          });
        }
        return;
      }
      case 'inline': {
        // Only at the top level of a tight list item does markdown-it leave bare inline tokens.
        const text = inlineText(token.children);
        if (text) out.push({ kind: 'paragraph', text });
        return;
      }
      default:
        // hr and anything unknown: nothing to say.
        return;
    }
  }

  /**
   * Whether tokens `start`..`end` (a list) are nothing but links to places in the same
   * document (`#anchors`): a table of contents.
   */
  private linksWithinDocument(start: number, end: number): boolean {
    let links = 0;
    for (let i = start; i < end; i++) {
      const token = this.tokens[i]!;
      if (token.type !== 'inline') continue;
      let inLink = false;
      for (const child of token.children ?? []) {
        if (child.type === 'link_open') {
          if (!String(child.attrGet('href') ?? '').startsWith('#')) return false;
          inLink = true;
          links += 1;
        } else if (child.type === 'link_close') inLink = false;
        else if (!inLink && child.type === 'text' && child.content.trim() !== '') return false;
        else if (!inLink && child.type !== 'text' && child.type !== 'softbreak') return false;
      }
    }
    return links > 0;
  }

  private listItems(list: Token, start: number, end: number): string[] {
    const ordered = list.type === 'ordered_list_open';
    const first = Number(list.attrGet('start') ?? 1);
    const items: string[] = [];
    let i = start + 1;
    let n = Number.isFinite(first) ? first : 1;
    while (i < end) {
      const item = this.tokens[i]!;
      const itemEnd = item.nesting === 1 ? Math.max(i, this.close[i] ?? i) : i;
      if (item.type === 'list_item_open') {
        const marker = ordered ? `${item.info || n}${item.markup || '.'}` : item.markup || '-';
        const body = this.blocks(i + 1, itemEnd)
          .map(blockMarkdown)
          .join('\n');
        const indent = ' '.repeat(marker.length + 1);
        items.push(body ? prefixLines(body, `${marker} `, indent) : marker);
        n += 1;
      }
      i = itemEnd + 1;
    }
    return items;
  }

  private tableRows(start: number, end: number): string[][] {
    const rows: string[][] = [];
    let row: string[] | undefined;
    for (let i = start; i < end; i++) {
      const token = this.tokens[i]!;
      if (token.type === 'tr_open') row = [];
      else if (token.type === 'tr_close' && row) {
        rows.push(row);
        row = undefined;
      } else if (token.type === 'inline' && row) row.push(inlineText(token.children).replaceAll('|', '\\|'));
    }
    return rows;
  }
}

/** The blocks of a Markdown document, in order. */
export function markdownBlocks(markdown: string): Block[] {
  const tokens = markdownIt().parse(markdown, {});
  return new Reader(tokens).blocks(0, tokens.length);
}

/** A heading or title written in Markdown, as plain text ("dotenv [![npm](…)](…)" → "dotenv"). */
export function plainInline(markdown: string): string {
  const tokens = markdownIt().parseInline(markdown, {});
  return inlineText(tokens[0]?.children ?? null, true);
}

/**
 * The longest start of a Markdown text made of whole top-level blocks (a heading, a paragraph,
 * a whole code block, a whole list) within `maxChars`; '' when not even the first block fits.
 */
export function cutAtBlocks(markdown: string, maxChars: number): string {
  if (markdown.length <= maxChars) return markdown;
  const lines = markdown.split('\n');
  // Where each line starts, to measure a block by its lines.
  const starts: number[] = [];
  let offset = 0;
  for (const line of lines) {
    starts.push(offset);
    offset += line.length + 1;
  }
  let end = 0;
  for (const token of markdownIt().parse(markdown, {})) {
    if (token.level !== 0 || !token.map || token.nesting === -1) continue;
    const to = token.map[1];
    const length = (starts[to] ?? markdown.length + 1) - 1;
    if (length > maxChars) break;
    end = Math.max(end, length);
  }
  return markdown.slice(0, end).trimEnd();
}
