/**
 * Reads one file into a document ready for chunking. Markdown, text, HTML and PDF become
 * markdown-ish text; JSON becomes records, one chunk each. Failures throw `IngestFileError`
 * with a reason a user can act on; the pipeline reports it and moves on.
 */
import { open } from 'node:fs/promises';
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
  /** Largest file accepted, in bytes; larger ones fail with the limit and how to raise it. */
  readonly maxBytes?: number;
}

/** Default per-file limit: far above any real handbook page, far below what exhausts memory. */
export const DEFAULT_MAX_FILE_MB = 20;

const MB = 1024 * 1024;

/** Share of control characters beyond which a "text" file is taken for binary data. */
const MAX_CONTROL_SHARE = 0.01;

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
  // Read as plain text: a table's rows and a log's lines are what a question is about.
  '.csv',
  '.log',
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

/**
 * PDF text through unpdf: pdf.js's serverless build in one dependency-free package (no canvas,
 * no native code), since only the text is wanted.
 */
async function loadPdf(data: Buffer): Promise<LoadedDocument> {
  const { extractText, getDocumentProxy, getMeta } = await import('unpdf');
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>> | undefined;
  try {
    // verbosity 0: pdf.js would otherwise print its repair warnings on the console.
    pdf = await getDocumentProxy(new Uint8Array(data), { verbosity: 0 });
    const { text } = await extractText(pdf, { mergePages: false });
    let title: string | undefined;
    try {
      const raw: unknown = (await getMeta(pdf)).info?.Title;
      if (typeof raw === 'string' && raw.trim()) title = raw.trim();
    } catch {
      // The info dictionary is optional; the text is what matters.
    }
    // Each page becomes a paragraph block so chunks break at page boundaries when they can.
    const markdown = text.map((page) => page.trim()).join('\n\n');
    return { kind: 'text', markdown, ...(title ? { title } : {}) };
  } catch (error) {
    throw new IngestFileError(`not a readable PDF (${(error as Error).message})`);
  } finally {
    // Ends the document and its (in-process) worker, releasing what pdf.js holds for it.
    await pdf?.loadingTask.destroy().catch(() => undefined);
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

function megabytes(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

/**
 * Reads the file once, refusing it before reading if it is over the limit: the size is
 * checked on the open handle, so a file growing meanwhile cannot slip past.
 */
async function readLimited(path: string, maxBytes: number): Promise<Buffer> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    if (size > maxBytes) {
      throw new IngestFileError(
        `too large: ${megabytes(size)}, over the limit of ${megabytes(maxBytes)} per file (split it, or raise INGEST_MAX_FILE_MB)`,
      );
    }
    const data = await handle.readFile();
    if (data.length > maxBytes) {
      throw new IngestFileError(`too large: it grew past ${megabytes(maxBytes)} while being read`);
    }
    return data;
  } catch (error) {
    if (error instanceof IngestFileError) throw error;
    throw new IngestFileError(`cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  } finally {
    await handle?.close();
  }
}

/** Control characters other than tab, line feed, form feed and carriage return. */
function countControls(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0c && code !== 0x0d) || code === 0x7f)
      count++;
  }
  return count;
}

/**
 * UTF-8 text, or a clear refusal: binary data renamed to .md (or text in another encoding)
 * would otherwise become chunks of mojibake that match nothing and pollute answers.
 */
export function decodeText(data: Uint8Array): string {
  let text: string;
  try {
    // Strips a byte-order mark; throws on any byte sequence that is not UTF-8.
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new IngestFileError(
      'not UTF-8 text: the file looks binary or uses another encoding (convert it to UTF-8, or check its extension)',
    );
  }
  // NUL and other control characters (tabs, newlines and form feeds aside) are rare in text
  // and common in binary formats that happen to be valid UTF-8.
  const controls = countControls(text);
  if (controls > 0 && controls >= text.length * MAX_CONTROL_SHARE) {
    throw new IngestFileError(
      `not text: ${controls.toLocaleString('en-US')} control characters suggest binary data (check its extension)`,
    );
  }
  return text;
}

export async function loadFile(path: string, options: LoadOptions = {}): Promise<LoadedDocument> {
  const extension = extname(path).toLowerCase();
  if (!isSupported(path)) {
    throw new IngestFileError(
      `unsupported file type "${extension || basename(path)}" (supported: ${SUPPORTED_EXTENSIONS.join(' ')})`,
    );
  }
  const data = await readLimited(path, options.maxBytes ?? DEFAULT_MAX_FILE_MB * MB);
  if (extension === '.pdf') return loadPdf(data);
  // Decoded once; the bytes are dropped as soon as this returns.
  const content = decodeText(data);
  if (extension === '.json') return loadJson(content, path, options.textField ?? 'text');
  if (extension === '.html' || extension === '.htm') return loadHtml(content);
  return loadMarkdown(content);
}

/**
 * Reads bytes already in memory (a file attached to a chat question) the way `loadFile` reads
 * a file from disk; `name` decides the type by its extension.
 */
export async function loadBytes(
  name: string,
  data: Buffer,
  options: LoadOptions = {},
): Promise<LoadedDocument> {
  const extension = extname(name).toLowerCase();
  if (extension === '.pdf') return loadPdf(data);
  const content = decodeText(data);
  if (extension === '.json') return loadJson(content, name, options.textField ?? 'text');
  if (extension === '.html' || extension === '.htm') return loadHtml(content);
  return loadMarkdown(content);
}
