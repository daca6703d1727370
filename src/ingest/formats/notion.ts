/**
 * Notion blocks to Markdown: headings, paragraphs, bulleted, numbered and to-do lists, code
 * with its language, quotes and callouts, tables, toggles (their summary, then their content),
 * dividers, equations, bookmarks and images' captions; sub-pages and databases are named (they
 * are items of their own). Rich text keeps bold, italic, strikethrough, code and links. A pure
 * function over the blocks as the API returns them, each with its `children` read, so it can
 * run in the parse pool; nesting depth is bounded.
 */
import { fencedCode } from '../../text/fence.js';
import { markdownTable } from '../../text/markdown-table.js';

export interface RichText {
  readonly plain_text: string;
  readonly href?: string | null;
  readonly annotations?: {
    readonly bold?: boolean;
    readonly italic?: boolean;
    readonly strikethrough?: boolean;
    readonly code?: boolean;
  };
}

export interface NotionBlock {
  readonly id: string;
  readonly type: string;
  readonly has_children?: boolean;
  /** Read by the caller when `has_children`. */
  children?: NotionBlock[];
  readonly [type: string]: unknown;
}

const MAX_DEPTH = 12;

/**
 * A link's destination as Markdown may carry it: an http(s) URL (the address is whatever the
 * page's author typed: a `javascript:` one is no link), with the parentheses that would end the
 * destination early escaped; undefined for anything else.
 */
function webLink(url: string): string | undefined {
  if (!URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
  return parsed.href.split('(').join('%28').split(')').join('%29');
}

export function richText(parts: readonly RichText[] | undefined): string {
  if (!parts) return '';
  return parts
    .map((part) => {
      let text = part.plain_text;
      if (!text) return '';
      const a = part.annotations ?? {};
      if (a.code) text = `\`${text}\``;
      if (a.bold) text = `**${text}**`;
      if (a.italic) text = `*${text}*`;
      if (a.strikethrough) text = `~~${text}~~`;
      const link = part.href ? webLink(part.href) : undefined;
      if (link) text = `[${text}](${link})`;
      return text;
    })
    .join('');
}

interface Body {
  readonly rich_text?: readonly RichText[];
  readonly caption?: readonly RichText[];
  readonly language?: string;
  readonly checked?: boolean;
  readonly title?: string;
  readonly url?: string;
  readonly expression?: string;
  readonly cells?: readonly (readonly RichText[])[];
  readonly has_column_header?: boolean;
  readonly icon?: { readonly emoji?: string } | null;
}

function bodyOf(block: NotionBlock): Body {
  return (block[block.type] ?? {}) as Body;
}

function table(block: NotionBlock): string[] {
  const rows = (block.children ?? []).filter((row) => row.type === 'table_row');
  if (rows.length === 0) return [];
  const cells = rows.map((row) => (bodyOf(row).cells ?? []).map((cell) => richText(cell)));
  return markdownTable(cells, bodyOf(block).has_column_header === true);
}

function render(blocks: readonly NotionBlock[], depth: number, out: string[]): void {
  const indent = '  '.repeat(Math.max(0, depth));
  let number = 0;
  for (const block of blocks) {
    const body = bodyOf(block);
    const text = richText(body.rich_text);
    const children = block.children ?? [];
    number = block.type === 'numbered_list_item' ? number + 1 : 0;
    const nested = () => {
      if (depth < MAX_DEPTH) render(children, depth + 1, out);
    };
    const flat = () => {
      if (depth < MAX_DEPTH) render(children, depth, out);
    };
    switch (block.type) {
      case 'heading_1':
      case 'heading_2':
      case 'heading_3':
        out.push('', `${'#'.repeat(Number(block.type.at(-1)))} ${text}`, '');
        // A toggleable heading's content follows it.
        flat();
        break;
      case 'paragraph':
        out.push(depth > 0 ? `${indent}${text}` : text, '');
        nested();
        break;
      case 'bulleted_list_item':
        out.push(`${indent}- ${text}`);
        nested();
        break;
      case 'numbered_list_item':
        out.push(`${indent}${number}. ${text}`);
        nested();
        break;
      case 'to_do':
        out.push(`${indent}- [${body.checked ? 'x' : ' '}] ${text}`);
        nested();
        break;
      case 'toggle':
        // A toggle's summary, then what it hides: both are content to answer from.
        out.push(`${indent}- **${text}**`);
        nested();
        break;
      case 'quote':
        out.push(`> ${text}`, '');
        flat();
        break;
      case 'callout':
        out.push(`> ${body.icon?.emoji ? `${body.icon.emoji} ` : ''}${text}`, '');
        flat();
        break;
      case 'code': {
        const code = (body.rich_text ?? []).map((part) => part.plain_text).join('');
        const language = body.language && body.language !== 'plain text' ? body.language : '';
        out.push('', fencedCode(code, language), '');
        break;
      }
      case 'equation':
        out.push(`$$${body.expression ?? ''}$$`, '');
        break;
      case 'divider':
        out.push('', '---', '');
        break;
      case 'table':
        out.push('', ...table(block), '');
        break;
      case 'child_page':
        out.push(`${indent}- Sub-page: ${body.title ?? ''}`);
        break;
      case 'child_database':
        out.push(`${indent}- Database: ${body.title ?? ''}`);
        break;
      case 'bookmark':
      case 'embed':
      case 'link_preview': {
        const caption = richText(body.caption);
        // A link only to a web address: the URL is whatever the page's author typed.
        const link = body.url ? webLink(body.url) : undefined;
        if (link) out.push(`${indent}[${caption || link}](${link})`, '');
        else if (caption) out.push(`${indent}${caption}`, '');
        break;
      }
      case 'image':
      case 'video':
      case 'file':
      case 'pdf': {
        const caption = richText(body.caption);
        if (caption) out.push(`${indent}${caption}`, '');
        break;
      }
      case 'synced_block':
      case 'column_list':
      case 'column':
        flat();
        break;
      default:
        // table_of_contents, breadcrumb, unsupported: nothing to read, but keep any children.
        if (text) out.push(text, '');
        flat();
    }
  }
}

export function notionBlocksToMarkdown(blocks: readonly NotionBlock[]): string {
  const out: string[] = [];
  render(blocks, 0, out);
  return out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** A page's title: the property of type `title`. */
export function notionTitle(properties: Readonly<Record<string, unknown>> | undefined): string {
  for (const property of Object.values(properties ?? {})) {
    const value = property as { type?: string; title?: readonly RichText[] };
    if (value.type === 'title')
      return (value.title ?? [])
        .map((part) => part.plain_text)
        .join('')
        .trim();
  }
  return '';
}
