/**
 * Reads one file into a document ready for chunking. Markdown (and MDX, reStructuredText,
 * AsciiDoc), text, HTML and PDF become
 * markdown-ish text; JSON becomes records, one chunk each. Failures throw `IngestFileError`
 * with a reason a user can act on; the pipeline reports it and moves on. What a file may
 * expand to is bounded (`ReadLimits`): characters of text, PDF pages, decompressed bytes.
 * These run inside the parse pool's parser processes (`parse-pool.ts`), never in the process that answers.
 */
import { basename, extname } from 'node:path';
import {
  checkSupported,
  DEFAULT_MAX_FILE_MB,
  DEFAULT_READ_LIMITS,
  IngestFileError,
  MARKUP_FORMATS,
  type MarkupFormat,
  type ReadLimits,
  readLimited,
  TooLargeError,
} from './files.js';
import { asciidocToMarkdown } from './formats/asciidoc.js';
import { cleanMdx } from './formats/mdx.js';
import { rstToMarkdown } from './formats/rst.js';
import { readHtml } from './html.js';

export {
  checkSupported,
  DEFAULT_MAX_FILE_MB,
  DEFAULT_READ_LIMITS,
  IngestFileError,
  isSupported,
  type ReadLimits,
  readLimited,
  SUPPORTED_EXTENSIONS,
  TooLargeError,
} from './files.js';

/** A JSON record: its text, and everything else kept as metadata. */
export interface SourceRecord {
  readonly text: string;
  readonly title?: string;
  readonly url?: string;
  readonly metadata: Record<string, unknown>;
}

export type LoadedDocument =
  | {
      readonly kind: 'text';
      readonly title?: string;
      readonly url?: string;
      readonly markdown: string;
      /** Cut at a budget (`overflow: 'cut'`). */
      readonly truncated?: boolean;
    }
  | {
      readonly kind: 'records';
      readonly records: readonly SourceRecord[];
      /** Records past the character budget were left out (`overflow: 'cut'`). */
      readonly truncated?: boolean;
    };

export interface LoadOptions {
  /** Which field of a JSON record holds the text. */
  readonly textField?: string;
  /** Largest file accepted, in bytes; larger ones fail with the limit and how to raise it. */
  readonly maxBytes?: number;
  /** What the file may expand to (default `DEFAULT_READ_LIMITS`). */
  readonly limits?: ReadLimits;
}

const MB = 1024 * 1024;

/** Share of control characters beyond which a "text" file is taken for binary data. */
const MAX_CONTROL_SHARE = 0.01;

/** Line ends of `text`, CRLF or LF, found without a pattern. */
function lines(text: string): string[] {
  return text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

const unquote = (value: string) => {
  const trimmed = value.trim();
  const first = trimmed[0];
  if ((first === '"' || first === "'") && trimmed.length >= 2 && trimmed.endsWith(first))
    return trimmed.slice(1, -1);
  return trimmed;
};

/** Optional `---` front matter with `title:` / `url:` lines. */
function frontMatter(markdown: string): { title?: string; url?: string; body: string } {
  const all = lines(markdown);
  if (all[0] !== '---') return { body: markdown };
  const close = all.indexOf('---', 1);
  if (close === -1) return { body: markdown };
  const fields = new Map<string, string>();
  for (const line of all.slice(1, close)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    if (!fields.has(key)) fields.set(key, unquote(line.slice(colon + 1)));
  }
  const title = fields.get('title');
  const url = fields.get('url');
  // The body keeps its own line ends: only the front matter's lines are dropped.
  let at = 0;
  for (let i = 0; i <= close; i++) at = markdown.indexOf('\n', at) + 1;
  return { ...(title ? { title } : {}), ...(url ? { url } : {}), body: at === 0 ? '' : markdown.slice(at) };
}

/** The text of the first `# ` heading line. */
function firstHeading(markdown: string): string | undefined {
  for (const line of lines(markdown)) {
    if (line.startsWith('# ') || line.startsWith('#\t')) {
      const text = line.slice(2).trim();
      if (text) return text;
    }
  }
  return undefined;
}

/** Text cut to the character budget, or refused when the budget says so. */
function withinChars(text: string, limits: ReadLimits): { text: string; truncated: boolean } {
  if (text.length <= limits.maxChars) return { text, truncated: false };
  if (limits.overflow === 'fail') throw tooManyChars(limits.maxChars);
  return { text: text.slice(0, limits.maxChars), truncated: true };
}

const tooManyChars = (max: number) =>
  new TooLargeError(
    `too large: it holds more than ${max.toLocaleString('en-US')} characters of text (split it, or raise PARSE_MAX_CHARS)`,
  );

function loadMarkdown(content: string, limits: ReadLimits): LoadedDocument {
  const { title, url, body } = frontMatter(content);
  const { text, truncated } = withinChars(body, limits);
  const heading = title ?? firstHeading(text);
  return {
    kind: 'text',
    markdown: text,
    ...(heading ? { title: heading } : {}),
    ...(url ? { url } : {}),
    ...(truncated ? { truncated } : {}),
  };
}

function loadHtml(html: string, limits: ReadLimits): LoadedDocument {
  const content = readHtml(html, { mode: 'file', maxChars: limits.maxChars });
  if (content.truncated && limits.overflow === 'fail') {
    if (content.markdown.length >= limits.maxChars) throw tooManyChars(limits.maxChars);
    throw new TooLargeError('too large or complex: its markup expands to many times its own size as text');
  }
  const heading = content.title ?? firstHeading(content.markdown);
  return {
    kind: 'text',
    markdown: content.markdown,
    ...(heading ? { title: heading } : {}),
    ...(content.canonical ? { url: content.canonical } : {}),
    ...(content.truncated ? { truncated: true } : {}),
  };
}

/**
 * PDF text through unpdf: pdf.js's serverless build in one dependency-free package (no canvas,
 * no native code), since only the text is wanted. Pages and characters are bounded as it is
 * read; what its streams inflate to is bounded by the parser process's memory budget (a
 * deflate bomb ends its process, see `parse-pool.ts`), whatever the file's syntax.
 */
async function loadPdf(data: Buffer, limits: ReadLimits): Promise<LoadedDocument> {
  const { getDocumentProxy, getMeta } = await import('unpdf');
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>> | undefined;
  try {
    // verbosity 0: pdf.js would otherwise print its repair warnings on the console.
    pdf = await getDocumentProxy(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), {
      verbosity: 0,
    });
    let pages = pdf.numPages;
    let truncated = false;
    if (pages > limits.maxPages) {
      if (limits.overflow === 'fail') {
        throw new TooLargeError(
          `too large: ${pages.toLocaleString('en-US')} pages, over the limit of ${limits.maxPages.toLocaleString('en-US')} (split it, or raise PARSE_MAX_PAGES)`,
        );
      }
      pages = limits.maxPages;
      truncated = true;
    }
    // Page by page, so reading stops once the character budget is spent.
    const texts: string[] = [];
    let chars = 0;
    for (let number = 1; number <= pages; number++) {
      const page = await pdf.getPage(number);
      const content = await page.getTextContent();
      let text = '';
      for (const item of content.items) {
        if ('str' in item) text += item.str + (item.hasEOL ? '\n' : '');
      }
      page.cleanup();
      // Glyphs a font maps to no character come out as NUL and other controls.
      text = withoutControls(text).trim();
      chars += text.length + 2;
      texts.push(text);
      if (chars > limits.maxChars) {
        if (limits.overflow === 'fail') throw tooManyChars(limits.maxChars);
        truncated = true;
        break;
      }
    }
    // Each page becomes a paragraph block so chunks break at page boundaries when they can.
    const { text: markdown } = withinChars(texts.join('\n\n'), { ...limits, overflow: 'cut' });
    let title: string | undefined;
    try {
      const raw: unknown = (await getMeta(pdf)).info?.Title;
      if (typeof raw === 'string' && raw.trim()) title = raw.trim();
    } catch {
      // The info dictionary is optional; the text is what matters.
    }
    return { kind: 'text', markdown, ...(title ? { title } : {}), ...(truncated ? { truncated } : {}) };
  } catch (error) {
    if (error instanceof IngestFileError) throw error;
    throw new IngestFileError(`not a readable PDF (${(error as Error).message})`);
  } finally {
    // Ends the document, releasing what pdf.js holds for it.
    await pdf?.loadingTask.destroy().catch(() => undefined);
  }
}

/** A record's fields kept beside its text, and what one field's value may hold. */
const MAX_METADATA_FIELDS = 64;
const MAX_FIELD_CHARS = 4_096;
const MAX_FIELD_DEPTH = 8;

/**
 * Whether a field's value is small and shallow enough to keep: its strings and keys at most
 * `MAX_FIELD_CHARS` characters in all (each other value counts one), nested at most
 * `MAX_FIELD_DEPTH` deep. Walked with a stack of our own, stopping at the first excess: a
 * value nested 100,000 deep, which JSON.parse reads, would overflow the call stack of every
 * recursive copy after it (the trip back from the parser process, JSON.stringify in a store).
 */
function fitsMetadata(value: unknown): boolean {
  let size = 0;
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const item = next.value;
    size += typeof item === 'string' ? item.length : 1;
    if (size > MAX_FIELD_CHARS) return false;
    if (item === null || typeof item !== 'object') continue;
    if (next.depth >= MAX_FIELD_DEPTH) return false;
    for (const key in item) {
      size += key.length + 1;
      if (size > MAX_FIELD_CHARS) return false;
      stack.push({ value: (item as Record<string, unknown>)[key], depth: next.depth + 1 });
    }
  }
  return true;
}

/** The record's other fields worth keeping: the first `MAX_METADATA_FIELDS` whose values fit. */
function recordMetadata(fields: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  let count = 0;
  for (const key in fields) {
    if (count >= MAX_METADATA_FIELDS) break;
    const value = fields[key];
    if (key.length > MAX_FIELD_CHARS || !fitsMetadata(value)) continue;
    // A plain data property, whatever the key (`__proto__` included).
    Object.defineProperty(kept, key, { value, enumerable: true, writable: true, configurable: true });
    count++;
  }
  return kept;
}

function loadJson(content: string, path: string, textField: string, limits: ReadLimits): LoadedDocument {
  if (content.length > limits.maxChars && limits.overflow === 'fail') throw tooManyChars(limits.maxChars);
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
  // Characters of the records kept: past the budget the rest are left out (a chat attachment)
  // or the file refused, as for text.
  let chars = 0;
  let truncated = false;
  for (const item of parsed) {
    if (!item || typeof item !== 'object' || Array.isArray(item)) continue;
    const { [textField]: text, ...rest } = item as Record<string, unknown>;
    if (typeof text !== 'string' || !text.trim()) continue;
    const title =
      typeof rest.title === 'string' ? rest.title : typeof rest.name === 'string' ? rest.name : undefined;
    const id = typeof rest.id === 'string' || typeof rest.id === 'number' ? String(rest.id) : undefined;
    const record: SourceRecord = {
      text: text.trim(),
      title: title ?? (id ? `${basename(path)} #${id}` : basename(path)),
      ...(typeof rest.url === 'string' ? { url: rest.url } : {}),
      metadata: recordMetadata(rest),
    };
    chars += record.text.length + (record.title?.length ?? 0);
    if (chars > limits.maxChars) {
      if (limits.overflow === 'fail') throw tooManyChars(limits.maxChars);
      truncated = true;
      if (records.length > 0) break;
      records.push({ ...record, text: record.text.slice(0, limits.maxChars) });
      break;
    }
    records.push(record);
  }
  if (records.length === 0) {
    throw new IngestFileError(
      `no record has a non-empty "${textField}" field (choose the text field with --text-field)`,
    );
  }
  return { kind: 'records', records, ...(truncated ? { truncated } : {}) };
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

/** `utf-16le` or `utf-16be` when the bytes start with that byte-order mark. */
function utf16Order(data: Uint8Array): 'utf-16le' | 'utf-16be' | undefined {
  if (data.length < 2 || data.length % 2 !== 0) return undefined;
  if (data[0] === 0xff && data[1] === 0xfe) return 'utf-16le';
  if (data[0] === 0xfe && data[1] === 0xff) return 'utf-16be';
  return undefined;
}

/**
 * UTF-8 text (or UTF-16 with a byte-order mark), or a clear refusal: binary data renamed to .md (or text in another encoding)
 * would otherwise become chunks of mojibake that match nothing and pollute answers.
 */
export function decodeText(data: Uint8Array): string {
  let text: string;
  try {
    // UTF-16 only with its byte-order mark (Windows' "Unicode" text, Excel's Unicode export);
    // anything else must be UTF-8. Each decoder strips the mark and throws on a malformed byte.
    text = new TextDecoder(utf16Order(data) ?? 'utf-8', { fatal: true }).decode(data);
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
  // The few left are noise, and NUL is refused by PostgreSQL and chat APIs alike.
  return controls > 0 ? withoutControls(text) : text;
}

/** `text` without the control characters `countControls` counts. */
function withoutControls(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed.
  return text.replace(/[\u0000-\u0008\u000b\u000e-\u001f\u007f]+/g, '');
}

/**
 * Markup as Markdown. Every reader of files goes through here (a folder, an attached file, a
 * synced repository), so the same file gives the same passages: an MDX page's imports are build
 * code, and reStructuredText's and AsciiDoc's literal blocks are the code a how-to question
 * wants quoted whole.
 */
function asMarkdown(format: MarkupFormat | undefined, content: string): string {
  switch (format) {
    case 'mdx':
      return cleanMdx(content);
    case 'rst':
      return rstToMarkdown(content);
    case 'asciidoc':
      return asciidocToMarkdown(content);
    default:
      return content;
  }
}

/** The document in `data`, read as the extension `extension` says. */
async function loadData(
  extension: string,
  name: string,
  data: Buffer,
  options: LoadOptions,
): Promise<LoadedDocument> {
  const limits = options.limits ?? DEFAULT_READ_LIMITS;
  if (extension === '.pdf') return loadPdf(data, limits);
  // Decoded once; the bytes are dropped as soon as this returns.
  const content = decodeText(data);
  if (extension === '.json') return loadJson(content, name, options.textField ?? 'text', limits);
  if (extension === '.html' || extension === '.htm') return loadHtml(content, limits);
  return loadMarkdown(asMarkdown(MARKUP_FORMATS[extension], content), limits);
}

export async function loadFile(path: string, options: LoadOptions = {}): Promise<LoadedDocument> {
  const extension = extname(path).toLowerCase();
  checkSupported(path);
  const data = await readLimited(path, options.maxBytes ?? DEFAULT_MAX_FILE_MB * MB);
  return loadData(extension, path, data, options);
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
  return loadData(extname(name).toLowerCase(), name, data, options);
}
