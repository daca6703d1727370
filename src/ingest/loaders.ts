/**
 * Reads one file into a document ready for chunking. Markdown, text, HTML and PDF become
 * markdown-ish text; JSON becomes records, one chunk each. Failures throw `IngestFileError`
 * with a reason a user can act on; the pipeline reports it and moves on.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';

export class IngestFileError extends Error {
  override readonly name = 'IngestFileError';
}

/** A JSON record: its text, and everything else kept as metadata. */
export interface SourceRecord {
  readonly text: string;
  readonly title?: string;
  readonly url?: string;
  readonly metadata: Record<string, unknown>;
}

export type LoadedDocument =
  | { readonly kind: 'text'; readonly title?: string; readonly url?: string; readonly markdown: string }
  | { readonly kind: 'records'; readonly records: readonly SourceRecord[] };

export interface LoadOptions {
  /** Which field of a JSON record holds the text. */
  readonly textField?: string;
}

export const SUPPORTED_EXTENSIONS = [
  '.md',
  '.markdown',
  '.mdx',
  '.txt',
  '.text',
  '.html',
  '.htm',
  '.pdf',
  '.json',
];

export function isSupported(path: string): boolean {
  return SUPPORTED_EXTENSIONS.includes(extname(path).toLowerCase());
}

/** Optional `---` front matter with `title:` / `url:` lines. */
function frontMatter(markdown: string): { title?: string; url?: string; body: string } {
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(markdown);
  if (!match) return { body: markdown };
  const fields = Object.fromEntries(
    (match[1] ?? '')
      .split(/\r?\n/)
      .map((line) => /^(\w+)\s*:\s*(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!.toLowerCase(), m[2]!.trim().replace(/^["']|["']$/g, '')]),
  );
  return {
    ...(fields.title ? { title: fields.title } : {}),
    ...(fields.url ? { url: fields.url } : {}),
    body: markdown.slice(match[0].length),
  };
}

function firstHeading(markdown: string): string | undefined {
  return /^#\s+(.+)$/m.exec(markdown)?.[1]?.trim();
}

function loadMarkdown(content: string): LoadedDocument {
  const { title, url, body } = frontMatter(content);
  const heading = title ?? firstHeading(body);
  return { kind: 'text', markdown: body, ...(heading ? { title: heading } : {}), ...(url ? { url } : {}) };
}

function decodeEntities(text: string): string {
  return text
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");
}

// The PDF and HTML libraries are large (pdf.js alone is tens of MB resident): loaded when a
// document needs them, so a bot that only answers never pays for them.
async function loadHtml(html: string): Promise<LoadedDocument> {
  const { NodeHtmlMarkdown } = await import('node-html-markdown');
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1]?.trim();
  const url =
    /<link[^>]+rel=["']canonical["'][^>]*href=["']([^"']+)["']/i.exec(html)?.[1] ??
    /<meta[^>]+property=["']og:url["'][^>]*content=["']([^"']+)["']/i.exec(html)?.[1];
  const body = /<body[^>]*>([\s\S]*)<\/body>/i.exec(html)?.[1] ?? html;
  const cleaned = body.replace(/<(script|style|nav|footer|noscript)\b[\s\S]*?<\/\1>/gi, '');
  const markdown = NodeHtmlMarkdown.translate(cleaned);
  const heading = title ? decodeEntities(title) : firstHeading(markdown);
  return { kind: 'text', markdown, ...(heading ? { title: heading } : {}), ...(url ? { url } : {}) };
}

async function loadPdf(data: Buffer): Promise<LoadedDocument> {
  const { PDFParse } = await import('pdf-parse');
  const parser = new PDFParse({ data: new Uint8Array(data) });
  try {
    const text = await parser.getText();
    let title: string | undefined;
    try {
      const info = await parser.getInfo();
      const raw: unknown = (info.info as Record<string, unknown> | undefined)?.Title;
      if (typeof raw === 'string' && raw.trim()) title = raw.trim();
    } catch {
      // The info dictionary is optional; the text is what matters.
    }
    // Each page becomes a paragraph block so chunks break at page boundaries when they can.
    const markdown = text.pages.map((page) => page.text.trim()).join('\n\n');
    return { kind: 'text', markdown, ...(title ? { title } : {}) };
  } catch (error) {
    throw new IngestFileError(`not a readable PDF (${(error as Error).message})`);
  } finally {
    await parser.destroy().catch(() => undefined);
  }
}

function loadJson(content: string, path: string, textField: string): LoadedDocument {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch (error) {
    throw new IngestFileError(`invalid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(parsed)) {
    throw new IngestFileError(
      `expected an array of records like [{"${textField}": "..."}], found ${typeof parsed}`,
    );
  }
  const records: SourceRecord[] = [];
  for (const item of parsed) {
    if (!item || typeof item !== 'object' || Array.isArray(item)) continue;
    const { [textField]: text, ...rest } = item as Record<string, unknown>;
    if (typeof text !== 'string' || !text.trim()) continue;
    const title =
      typeof rest.title === 'string' ? rest.title : typeof rest.name === 'string' ? rest.name : undefined;
    const id = typeof rest.id === 'string' || typeof rest.id === 'number' ? String(rest.id) : undefined;
    records.push({
      text: text.trim(),
      title: title ?? (id ? `${basename(path)} #${id}` : basename(path)),
      ...(typeof rest.url === 'string' ? { url: rest.url } : {}),
      metadata: rest,
    });
  }
  if (records.length === 0) {
    throw new IngestFileError(
      `no record has a non-empty "${textField}" field (choose the text field with --text-field)`,
    );
  }
  return { kind: 'records', records };
}

export async function loadFile(path: string, options: LoadOptions = {}): Promise<LoadedDocument> {
  const extension = extname(path).toLowerCase();
  if (!isSupported(path)) {
    throw new IngestFileError(
      `unsupported file type "${extension || basename(path)}" (supported: ${SUPPORTED_EXTENSIONS.join(' ')})`,
    );
  }
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    throw new IngestFileError(`cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (extension === '.pdf') return loadPdf(data);
  const content = data.toString('utf8').replace(/^\uFEFF/, '');
  if (extension === '.json') return loadJson(content, path, options.textField ?? 'text');
  if (extension === '.html' || extension === '.htm') return loadHtml(content);
  return loadMarkdown(content);
}
