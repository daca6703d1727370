/**
 * Raw HTML found inside Markdown (a README's `<details><summary>…`, `<h1 align="center">`,
 * `<p><img …></p>`) as safe text: the tags are dropped, a heading stays a heading, every block
 * element (a summary, a paragraph, a list item) becomes its own line, `<pre>` stays code, and
 * scripts, styles and images leave nothing. Parsed by htmlparser2's streaming tokenizer, which
 * reads each character once, with the element stack of `html-events.ts` (htmlparser2's `Parser`
 * searched its stack for every unmatched end tag: 800 KB of them took 15.7 s), so hostile
 * markup costs linear time; no pattern ever runs over it.
 */
import { createRequire } from 'node:module';
import type * as Htmlparser2 from 'htmlparser2';
import { parseHtml } from '../ingest/html-events.js';

let loaded: typeof Htmlparser2.Parser | undefined;

/** htmlparser2, loaded the first time a document holds HTML. */
function htmlParser(): typeof Htmlparser2.Parser {
  loaded ??= (createRequire(import.meta.url)('htmlparser2') as typeof Htmlparser2).Parser;
  return loaded;
}

export type FragmentBlock =
  | { readonly kind: 'heading'; readonly level: number; readonly text: string }
  /** A `<details>` element's `<summary>`: the name of what the details hold. */
  | { readonly kind: 'summary'; readonly text: string }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'code'; readonly code: string };

/** Elements that start and end a line of their own. */
const BLOCK_ELEMENTS = new Set([
  'address',
  'article',
  'aside',
  'blockquote',
  'br',
  'caption',
  'dd',
  'details',
  'dialog',
  'div',
  'dl',
  'dt',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'form',
  'header',
  'hr',
  'li',
  'main',
  'nav',
  'ol',
  'p',
  'section',
  'summary',
  'table',
  'tbody',
  'td',
  'tfoot',
  'th',
  'thead',
  'tr',
  'ul',
]);

/** Elements whose content is not text a reader sees. */
const HIDDEN_ELEMENTS = new Set(['script', 'style', 'template', 'noscript', 'svg', 'math', 'head', 'iframe']);

const HEADINGS: Readonly<Record<string, number>> = { h1: 1, h2: 2, h3: 3, h4: 4, h5: 5, h6: 6 };

function collapse(text: string): string {
  let out = '';
  let space = false;
  for (const char of text) {
    // Any run of whitespace (a non-breaking space included) reads as one space.
    if (char.trim() === '') space = out.length > 0;
    else {
      if (space) out += ' ';
      out += char;
      space = false;
    }
  }
  return out;
}

/** The blocks of an HTML fragment, in document order; empty when it shows no text. */
export function htmlFragmentBlocks(html: string): FragmentBlock[] {
  const blocks: FragmentBlock[] = [];
  let line = '';
  let hidden = 0;
  let pre = 0;
  let code = '';
  let heading: number | undefined;
  let summary = 0;

  const flush = () => {
    const text = collapse(line);
    line = '';
    if (!text) return;
    if (heading) blocks.push({ kind: 'heading', level: heading, text });
    else if (summary > 0) blocks.push({ kind: 'summary', text });
    else blocks.push({ kind: 'text', text });
  };

  parseHtml(html, {
    open(name) {
      if (HIDDEN_ELEMENTS.has(name)) hidden += 1;
      if (hidden > 0) return;
      if (name === 'pre') {
        flush();
        pre += 1;
        return;
      }
      if (pre > 0) return;
      if (name in HEADINGS) {
        flush();
        heading = HEADINGS[name];
      } else if (BLOCK_ELEMENTS.has(name)) {
        flush();
        if (name === 'li') line = '- ';
        if (name === 'summary') summary += 1;
      } else if (name === 'code' && !heading && summary === 0) line += '`';
    },
    text(text) {
      if (hidden > 0) return;
      if (pre > 0) code += text;
      else line += text;
    },
    close(name) {
      if (HIDDEN_ELEMENTS.has(name)) {
        hidden = Math.max(0, hidden - 1);
        return;
      }
      if (hidden > 0) return;
      if (name === 'pre' && pre > 0) {
        pre -= 1;
        if (pre === 0) {
          const body = withoutLeadingNewlines(code).trimEnd();
          if (body) blocks.push({ kind: 'code', code: body });
          code = '';
        }
        return;
      }
      if (pre > 0) return;
      if (name in HEADINGS) {
        flush();
        heading = undefined;
      } else if (BLOCK_ELEMENTS.has(name)) {
        flush();
        if (name === 'summary') summary = Math.max(0, summary - 1);
      } else if (name === 'code' && !heading && summary === 0) line += '`';
    },
  });
  if (pre > 0 && code.trim()) blocks.push({ kind: 'code', code: code.trimEnd() });
  flush();
  return blocks.filter((block) => block.kind === 'code' || !EMPTY_LINES.has(block.text));
}

/** What a list item or a `<code>` around nothing (or around an image) leaves behind. */
const EMPTY_LINES = new Set(['-', '``', '- ``']);

function withoutLeadingNewlines(text: string): string {
  let start = 0;
  while (text.charCodeAt(start) === 10 || text.charCodeAt(start) === 13) start += 1;
  return text.slice(start);
}

/** One inline tag (`<br>`, `<kbd>`, `</code>`, a comment) as markdown-it found it between text. */
export interface InlineTag {
  /** What it contributes to the text around it: a line break, a backtick for code, or nothing. */
  readonly text: string;
  /** +1 when it opens an element whose content no reader sees (`<script>`), -1 when it closes one. */
  readonly hides: -1 | 0 | 1;
}

export function inlineTag(tag: string): InlineTag {
  let text = '';
  let hides: -1 | 0 | 1 = 0;
  const parser = new (htmlParser())(
    {
      onopentag(name) {
        if (name === 'br') text = '\n';
        else if (name === 'code') text = '`';
        else if (HIDDEN_ELEMENTS.has(name)) hides = 1;
      },
      onclosetag(name, implied) {
        if (implied) return;
        if (name === 'code') text = '`';
        else if (HIDDEN_ELEMENTS.has(name)) hides = -1;
      },
    },
    { lowerCaseTags: true, recognizeSelfClosing: true },
  );
  parser.write(tag);
  parser.end();
  return { text, hides };
}
