/**
 * Confluence storage format (XHTML with `ac:` macros and `ri:` resources) to Markdown, read
 * with htmlparser2's tokenizer (linear, no regular expressions over the markup): headings, paragraphs,
 * lists, tables, code macros with their language, info/note/warning panels as quotes, expand
 * macros, task lists, links (a page link keeps its title), emphasis and code. Layout-only
 * macros (table of contents, children lists) and images are left out. A pure function, so it
 * can run in the parse pool; nesting depth is bounded.
 */
import { Tokenizer } from 'htmlparser2';
import { fencedCode } from '../../text/fence.js';
import { markdownTable } from '../../text/markdown-table.js';

/** Appends `lines` one by one: a spread of a long list into push() overflows the call stack. */
function append(out: string[], lines: readonly string[]): void {
  for (const line of lines) out.push(line);
}

interface Node {
  readonly type: string;
  readonly name?: string;
  readonly data?: string;
  readonly attribs?: Readonly<Record<string, string>>;
  readonly children?: readonly Node[];
}

const MAX_DEPTH = 40;
/** Table sections (thead, tbody, tfoot) looked into within one another. */
const MAX_SECTION_NESTING = 4;
const PANELS: Readonly<Record<string, string>> = {
  info: 'Info',
  note: 'Note',
  warning: 'Warning',
  tip: 'Tip',
  panel: 'Note',
  success: 'Note',
  error: 'Warning',
};
const DROPPED = new Set([
  'ac:image',
  'ac:emoticon',
  'ac:placeholder',
  'ri:attachment',
  'script',
  'style',
  'ac:adf-fallback',
  // Settings of a macro or an ADF node (a status's colour, a panel's type), never text.
  'ac:parameter',
  'ac:adf-attribute',
  'ac:task-id',
]);
/** Macros that sit inside a line of text (a status lozenge, an anchor) rather than making a block. */
const INLINE_MACROS = new Set(['status', 'anchor', 'jira', 'mention']);

function isInlineMacro(node: Node): boolean {
  return node.name === 'ac:structured-macro' && INLINE_MACROS.has(node.attribs?.['ac:name'] ?? '');
}

function elements(node: Node): Node[] {
  return (node.children ?? []).filter(
    (child) => child.type === 'tag' || child.type === 'script' || child.type === 'style',
  );
}

function child(node: Node, name: string): Node | undefined {
  return elements(node).find((element) => element.name === name);
}

function parameter(node: Node, name: string): string | undefined {
  const found = elements(node).find(
    (element) => element.name === 'ac:parameter' && element.attribs?.['ac:name'] === name,
  );
  return found ? plainText(found).trim() : undefined;
}

/** All text under a node, CDATA included (a code macro's body). */
function plainText(node: Node, depth = 0): string {
  if (node.type === 'text' || node.type === 'cdata') {
    return node.data ?? (node.children ?? []).map((c) => plainText(c, depth + 1)).join('');
  }
  if (depth > MAX_DEPTH) return '';
  return (node.children ?? []).map((c) => plainText(c, depth + 1)).join('');
}

const collapse = (text: string) => text.replace(/\s+/g, ' ');

function inline(nodes: readonly Node[], depth: number): string {
  let out = '';
  for (const node of nodes) {
    if (node.type === 'text') {
      out += collapse(node.data ?? '');
      continue;
    }
    if (node.type === 'cdata') {
      out += collapse(plainText(node));
      continue;
    }
    if (node.type !== 'tag' || depth > MAX_DEPTH || DROPPED.has(node.name ?? '')) continue;
    const inner = () => inline(node.children ?? [], depth + 1);
    switch (node.name) {
      case 'strong':
      case 'b': {
        const text = inner().trim();
        out += text ? `**${text}**` : '';
        break;
      }
      case 'em':
      case 'i': {
        const text = inner().trim();
        out += text ? `*${text}*` : '';
        break;
      }
      case 's':
      case 'del': {
        const text = inner().trim();
        out += text ? `~~${text}~~` : '';
        break;
      }
      case 'code':
        out += `\`${plainText(node)}\``;
        break;
      case 'br':
        out += '\n';
        break;
      case 'a': {
        const text = inner().trim();
        const href = node.attribs?.href ?? '';
        out +=
          href.startsWith('http://') || href.startsWith('https://') ? `[${text || href}](${href})` : text;
        break;
      }
      case 'time': {
        // A date picked in the editor: `<time datetime="2024-05-01" />`.
        const text = inner().trim();
        out += text || (node.attribs?.datetime ?? '');
        break;
      }
      case 'ac:structured-macro': {
        // Inline: a status lozenge reads as its title; a Jira link or an anchor has no prose.
        const name = node.attribs?.['ac:name'] ?? '';
        if (name === 'status') out += parameter(node, 'title') ?? '';
        else {
          const rich = child(node, 'ac:rich-text-body');
          if (rich) out += inline(rich.children ?? [], depth + 1);
        }
        break;
      }
      case 'ac:link': {
        // A link to another page, a user or an attachment: its text, or the page's title.
        const body = child(node, 'ac:link-body') ?? child(node, 'ac:plain-text-link-body');
        const page = child(node, 'ri:page');
        out += body ? collapse(plainText(body)).trim() : (page?.attribs?.['ri:content-title'] ?? '');
        break;
      }
      default:
        out += inner();
    }
  }
  return out;
}

function table(node: Node, depth: number): string[] {
  const rows: string[][] = [];
  let header = false;
  // Sections hold rows, not other sections: one nested in another is read a few levels deep at
  // most, so a page of thousands of nested sections cannot exhaust the stack.
  const collect = (parent: Node, level: number) => {
    for (const element of elements(parent)) {
      if (element.name === 'thead' || element.name === 'tbody' || element.name === 'tfoot') {
        if (level < MAX_SECTION_NESTING) collect(element, level + 1);
      } else if (element.name === 'tr') {
        const cells = elements(element).filter((cell) => cell.name === 'td' || cell.name === 'th');
        if (rows.length === 0 && cells.length > 0 && cells.every((cell) => cell.name === 'th')) header = true;
        rows.push(
          cells.map((cell) =>
            blocks(cell.children ?? [], depth + 1)
              .join(' ')
              .replace(/\s+/g, ' ')
              .trim(),
          ),
        );
      }
    }
  };
  collect(node, 0);
  if (rows.length === 0) return [];
  return [...markdownTable(rows, header), ''];
}

function list(node: Node, depth: number, ordered: boolean, indent: string): string[] {
  // A list nests lists directly, so it keeps the depth bound too (100,000 nested lists
  // overflowed the stack, and the page failed to sync).
  if (depth > MAX_DEPTH) return [];
  const out: string[] = [];
  let n = 0;
  for (const item of elements(node)) {
    if (item.name !== 'li') continue;
    n++;
    const marker = ordered ? `${n}. ` : '- ';
    const own: Node[] = [];
    const nested: string[] = [];
    for (const part of item.children ?? []) {
      if (part.type === 'tag' && (part.name === 'ul' || part.name === 'ol')) {
        append(nested, list(part, depth + 1, part.name === 'ol', `${indent}  `));
      } else own.push(part);
    }
    const text = blocks(own, depth + 1)
      .join(' ')
      .replace(/\s+/g, ' ')
      .trim();
    out.push(`${indent}${marker}${text}`, ...nested);
  }
  return out;
}

/** A panel (info, note, warning…) as a quote led by its label. */
function panel(label: string, body: Node | undefined, depth: number): string[] {
  const text = body
    ? blocks(body.children ?? [], depth + 1)
        .join('\n')
        .trim()
    : '';
  const lines = text.split('\n');
  return ['', `> **${label}:** ${lines[0] ?? ''}`, ...lines.slice(1).map((line) => `> ${line}`), ''];
}

/**
 * The editor's ADF extensions (`ac:adf-extension` holding an `ac:adf-node` with its
 * attributes and content, plus a fallback for old readers, which is dropped): a panel reads
 * as the panel macros do; any other node shows its content.
 */
function adfNode(node: Node, depth: number): string[] {
  const content = child(node, 'ac:adf-content');
  if (node.attribs?.type === 'panel') {
    const kind = elements(node).find(
      (element) => element.name === 'ac:adf-attribute' && element.attribs?.key === 'panel-type',
    );
    return panel(PANELS[kind ? plainText(kind).trim() : ''] ?? 'Note', content, depth);
  }
  return content ? blocks(content.children ?? [], depth + 1) : [];
}

function macro(node: Node, depth: number): string[] {
  const name = node.attribs?.['ac:name'] ?? '';
  if (name === 'code' || name === 'noformat') {
    const body = child(node, 'ac:plain-text-body');
    return ['', fencedCode(body ? plainText(body) : '', parameter(node, 'language') ?? ''), ''];
  }
  const rich = child(node, 'ac:rich-text-body');
  if (PANELS[name]) return panel(parameter(node, 'title') || PANELS[name]!, rich, depth);
  if (name === 'expand') {
    const title = parameter(node, 'title') || 'Details';
    return ['', `**${title}**`, '', ...(rich ? blocks(rich.children ?? [], depth + 1) : []), ''];
  }
  // Other macros with content (section, column, excerpt…) show it; the rest (toc, children,
  // jira, attachments) carry nothing to read.
  return rich ? blocks(rich.children ?? [], depth + 1) : [];
}

function blocks(nodes: readonly Node[], depth: number): string[] {
  const out: string[] = [];
  let paragraph: Node[] = [];
  const flush = () => {
    const text = inline(paragraph, depth).trim();
    if (text) out.push(text, '');
    paragraph = [];
  };
  if (depth > MAX_DEPTH) return [];
  for (const node of nodes) {
    if (node.type !== 'tag') {
      paragraph.push(node);
      continue;
    }
    const name = node.name ?? '';
    if (DROPPED.has(name)) continue;
    const heading = /^h([1-6])$/.exec(name);
    if (heading) {
      flush();
      out.push(`${'#'.repeat(Number(heading[1]))} ${inline(node.children ?? [], depth + 1).trim()}`, '');
    } else if (
      name === 'p' ||
      name === 'div' ||
      name === 'section' ||
      name === 'ac:layout' ||
      name === 'ac:layout-section' ||
      name === 'ac:layout-cell' ||
      name === 'ac:adf-extension'
    ) {
      flush();
      append(out, blocks(node.children ?? [], depth + 1));
    } else if (name === 'ul' || name === 'ol') {
      flush();
      append(out, list(node, depth + 1, name === 'ol', ''));
      out.push('');
    } else if (name === 'table') {
      flush();
      append(out, table(node, depth + 1));
    } else if (name === 'pre') {
      flush();
      out.push(fencedCode(plainText(node)), '');
    } else if (name === 'blockquote') {
      flush();
      append(
        out,
        blocks(node.children ?? [], depth + 1).map((line) => (line ? `> ${line}` : '>')),
      );
      out.push('');
    } else if (name === 'hr') {
      flush();
      out.push('---', '');
    } else if (isInlineMacro(node)) {
      paragraph.push(node);
    } else if (name === 'ac:structured-macro') {
      flush();
      append(out, macro(node, depth + 1));
    } else if (name === 'ac:adf-node') {
      flush();
      append(out, adfNode(node, depth + 1));
    } else if (name === 'ac:task-list') {
      flush();
      for (const task of elements(node).filter((element) => element.name === 'ac:task')) {
        const done =
          plainText(child(task, 'ac:task-status') ?? { type: 'text', data: '' }).trim() === 'complete';
        const body = child(task, 'ac:task-body');
        out.push(`- [${done ? 'x' : ' '}] ${body ? inline(body.children ?? [], depth + 1).trim() : ''}`);
      }
      out.push('');
    } else paragraph.push(node);
  }
  flush();
  return out;
}

interface Building {
  readonly type: string;
  readonly name?: string;
  readonly data?: string;
  readonly attribs?: Record<string, string>;
  readonly children: Building[];
}

/**
 * The document as a tree, built over htmlparser2's tokenizer with our own element stack:
 * htmlparser2's `Parser` searches its stack for every end tag, which is quadratic on deep
 * nesting with unmatched end tags; here an end tag nothing open matches is dropped in O(1) (a
 * count per name), and every element is pushed and popped once. HTML's entities are decoded;
 * CDATA (a code macro's body) is text.
 */
function tree(storage: string): Building {
  const root: Building = { type: 'root', children: [] };
  const stack: Building[] = [root];
  const open = new Map<string, number>();
  let tag: Building | undefined;
  let attribute = '';
  let value = '';
  const top = () => stack[stack.length - 1]!;
  const text = (data: string) => {
    const last = top().children.at(-1);
    if (last?.type === 'text')
      top().children[top().children.length - 1] = { ...last, data: `${last.data}${data}` };
    else top().children.push({ type: 'text', data, children: [] });
  };
  const start = (selfClosing: boolean) => {
    if (!tag) return;
    top().children.push(tag);
    if (!selfClosing && tag.name !== 'br' && tag.name !== 'hr') {
      stack.push(tag);
      open.set(tag.name!, (open.get(tag.name!) ?? 0) + 1);
    }
    tag = undefined;
  };
  const tokenizer = new Tokenizer(
    { xmlMode: false, decodeEntities: true, recognizeSelfClosing: true },
    {
      onopentagname(from, to) {
        tag = { type: 'tag', name: storage.slice(from, to).toLowerCase(), attribs: {}, children: [] };
      },
      onattribname(from, to) {
        attribute = storage.slice(from, to).toLowerCase();
        value = '';
      },
      onattribdata(from, to) {
        value += storage.slice(from, to);
      },
      onattribentity(codepoint) {
        value += String.fromCodePoint(codepoint);
      },
      onattribend() {
        if (tag?.attribs && !Object.hasOwn(tag.attribs, attribute)) tag.attribs[attribute] = value;
      },
      onopentagend() {
        start(false);
      },
      onselfclosingtag() {
        start(true);
      },
      onclosetag(from, to) {
        const name = storage.slice(from, to).toLowerCase();
        if ((open.get(name) ?? 0) === 0) return;
        for (;;) {
          const closed = stack.pop()!;
          open.set(closed.name!, open.get(closed.name!)! - 1);
          if (closed.name === name) break;
        }
      },
      ontext(from, to) {
        text(storage.slice(from, to));
      },
      ontextentity(codepoint) {
        text(String.fromCodePoint(codepoint));
      },
      oncdata(from, to, offset) {
        top().children.push({ type: 'cdata', data: storage.slice(from, to - offset), children: [] });
      },
      oncomment() {},
      ondeclaration() {},
      onprocessinginstruction() {},
      onend() {},
      // Storage format is XHTML: CDATA sections are content everywhere, as in XML.
      isInForeignContext: () => true,
    },
  );
  tokenizer.write(storage);
  tokenizer.end();
  return root;
}

export function confluenceStorageToMarkdown(storage: string): string {
  const document: Node = tree(storage);
  return blocks(document.children ?? [], 0)
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
