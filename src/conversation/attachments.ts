/**
 * Files attached to a question (or earlier in its thread), read as context for that one answer:
 * the type is checked from the name, MIME type or the platform's own type word, oversized and
 * unsupported files are refused before a byte is downloaded, and what is read goes through the
 * ingestion loaders (text, Markdown, HTML, PDF, JSON, CSV, logs), in the parse pool's processes
 * and within its budgets, into passages cited by file name. Nothing is written anywhere: the
 * passages live as long as the answer; what a file became is kept in memory for the thread's
 * follow-ups (`attachment-cache.ts`), so it is downloaded and parsed once.
 *
 * A file is downloaded only once a parser process is free for it (a question's files wait
 * their turn with other people's, and are refused with a note when too many wait), and one
 * question's files have a budget of bytes and time in all.
 *
 * Every file that is not read gets a one-line note saying why; a file is never silently ignored.
 * The passages are measured with the core's own token count and passage format, numbered as the
 * core will number them (attachments come first), so they always fit the answer's budget.
 */
import { extname } from 'node:path';
import { countTokens, formatPassage } from '../core/prompt.js';
import type { Passage } from '../core/types.js';
import { IngestFileError, ParseBudgetError, SUPPORTED_EXTENSIONS, TooLargeError } from '../ingest/files.js';
import type { LoadedDocument } from '../ingest/loaders.js';
import {
  type JobOwner,
  type ParseLease,
  type ParsePool,
  ParserBusyError,
  parsePool,
  readLimits,
} from '../ingest/parse-pool.js';
import type { Logger } from '../log.js';
import { type ReadFile, type ReadFileCache, readFileKey } from './attachment-cache.js';
import { DownloadError } from './download.js';
import { strings } from './strings.js';

/** A file as a front end offers it: what the platform says about it, and how to fetch it. */
export interface AttachedFile {
  /** The platform's id for the file, so a problem with it is said once per thread, not on every follow-up. */
  readonly id?: string;
  readonly name: string;
  /** Size in bytes as the platform declares it (checked before downloading). */
  readonly size?: number;
  readonly mimeType?: string;
  /** The platform's own type word (Slack's `filetype`), used when the name has no extension. */
  readonly typeHint?: string;
  /** Fetches the bytes, never more than `maxBytes`; throws `DownloadError` when it cannot. */
  download(maxBytes: number, signal?: AbortSignal): Promise<Buffer>;
}

export interface AttachmentLimits {
  /** Largest file read, in bytes (ATTACHMENT_MAX_MB). */
  readonly maxFileBytes: number;
  /** Tokens all attached files may use together in the prompt (ATTACHMENT_MAX_TOKENS). */
  readonly maxTokens: number;
  /** Most files read for one question; later ones get a note. */
  readonly maxFiles: number;
  /** Bytes one question's files may download in all (default: three files of the largest size). */
  readonly maxTotalBytes?: number;
  /** Time one question's files may take to download and read in all, in ms (default: twice one document's parse budget). */
  readonly maxTotalMs?: number;
}

export const DEFAULT_ATTACHMENT_MAX_MB = 5;
export const DEFAULT_ATTACHMENT_MAX_TOKENS = 3_000;
export const MAX_ATTACHED_FILES = 10;
const MB = 1024 * 1024;

export const DEFAULT_ATTACHMENT_LIMITS: AttachmentLimits = {
  maxFileBytes: DEFAULT_ATTACHMENT_MAX_MB * MB,
  maxTokens: DEFAULT_ATTACHMENT_MAX_TOKENS,
  maxFiles: MAX_ATTACHED_FILES,
};

/**
 * The attachment share of an answer's context budget: at most half, so retrieved passages and
 * the conversation still have room, whatever ATTACHMENT_MAX_TOKENS says.
 */
export function attachmentTokenBudget(maxTokens: number, contextTokens: number): number {
  return Math.min(maxTokens, Math.floor(contextTokens / 2));
}

/** One line for the asker about a file not (fully) read; the name already made safe. */
export interface AttachmentNote {
  readonly text: string;
  /** The file it is about, when the platform identifies files. */
  readonly fileId?: string;
}

/** What a question's files became: passages for the core, and notes for the asker. */
export interface ReadAttachments {
  readonly passages: Passage[];
  readonly notes: AttachmentNote[];
}

export interface ReadOptions {
  /** Makes a file name safe to echo on the platform (no mentions, no markup). */
  readonly quote: (name: string) => string;
  readonly log: Logger;
  readonly signal?: AbortSignal;
  /** Where files are parsed (default: the process's pool). */
  readonly parser?: ParsePool;
  /** What files read earlier in this conversation became, so a follow-up reads none of them again. */
  readonly cache?: ReadFileCache;
  /** The conversation (platform and thread) the cache is kept for. */
  readonly scope?: string;
  /** Whose files these are: files wait for a parser in turn with other people's. */
  readonly owner?: JobOwner;
}

const MIME_TYPES: Readonly<Record<string, string>> = {
  'text/plain': '.txt',
  'text/markdown': '.md',
  'text/x-markdown': '.md',
  'text/csv': '.csv',
  'text/html': '.html',
  'application/json': '.json',
  'application/pdf': '.pdf',
};

/** Slack's `filetype` words for the types the loaders read. */
const TYPE_HINTS: Readonly<Record<string, string>> = {
  text: '.txt',
  markdown: '.md',
  csv: '.csv',
  html: '.html',
  json: '.json',
  pdf: '.pdf',
};

/** Shortest cut of a file worth giving the model; less is noted as skipped. */
const MIN_USEFUL_CHARS = 200;
/** Cuts tried to fit a file's text to what is left of the budget. */
const FIT_ATTEMPTS = 8;

/**
 * A name fit for one line and a passage attribute: no control characters, bounded length, and
 * no direction overrides or isolates, which would show `invoice\u202Efdp.exe` as `invoiceexe.pdf`
 * in the note and reorder the words after it.
 */
export function cleanFileName(name: string): string {
  const flat = name
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed.
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(/[\u202a-\u202e\u2066-\u2069]+/g, '')
    .trim();
  const short = flat.length > 100 ? `${flat.slice(0, 99)}…` : flat;
  return short || 'file';
}

/**
 * The extension the loaders should read a file as, or undefined when it is not a type they
 * read. A supported extension wins; a name with no extension (or an unknown one) falls back to
 * the MIME type (any `text/*` reads as text) and then the platform's type word.
 */
export function attachmentType(
  file: Pick<AttachedFile, 'name' | 'mimeType' | 'typeHint'>,
): string | undefined {
  const extension = extname(file.name).toLowerCase();
  if (SUPPORTED_EXTENSIONS.includes(extension)) return extension;
  const mime = file.mimeType?.split(';')[0]?.trim().toLowerCase();
  if (mime && MIME_TYPES[mime]) return MIME_TYPES[mime];
  if (mime?.startsWith('text/')) return '.txt';
  const hint = file.typeHint?.toLowerCase();
  if (!mime && hint && TYPE_HINTS[hint]) return TYPE_HINTS[hint];
  return undefined;
}

function megabytes(bytes: number): string {
  const mb = bytes / MB;
  return Number.isInteger(mb) ? String(mb) : mb.toFixed(1);
}

/** A JSON record as text: its title, its text, then its other fields, one per line. */
function recordText(record: Extract<LoadedDocument, { kind: 'records' }>['records'][number]): string {
  const fields = Object.entries(record.metadata)
    .filter(([key, value]) => key !== 'title' && value !== null && typeof value !== 'object')
    .map(([key, value]) => `${key}: ${String(value)}`);
  return [record.title, record.text, ...fields].filter(Boolean).join('\n');
}

/**
 * The file's text as the loaders read it (in a parser process, on `lease`); JSON that is not a
 * list of records is read as it is. `cache` says whether the outcome is what the file is (a
 * budget stop or a reader that failed can be the moment's, and are tried again next time).
 */
async function parseText(
  data: Buffer,
  name: string,
  type: string,
  maxChars: number,
  parser: ParsePool,
  lease: ParseLease,
  signal: AbortSignal | undefined,
): Promise<{ read: ReadFile; cache: boolean }> {
  try {
    const { document } = await lease.run(
      {
        kind: 'file',
        name,
        type,
        data,
        jsonAsText: true,
        limits: {
          ...readLimits(parser.settings, 'cut'),
          maxChars: Math.min(parser.settings.maxChars, maxChars),
        },
      },
      signal,
    );
    const text =
      document.kind === 'text'
        ? document.markdown.trim()
        : document.records.map(recordText).join('\n\n').trim();
    return {
      read: { kind: 'text', text, truncated: document.truncated === true },
      cache: true,
    };
  } catch (error) {
    if (signal?.aborted) throw error;
    if (error instanceof ParseBudgetError) {
      const why =
        error.budget === 'time'
          ? strings.tooComplexBecause.time(error.limit)
          : strings.tooComplexBecause.memory(error.limit);
      return { read: { kind: 'too_complex', reason: why }, cache: false };
    }
    if (error instanceof TooLargeError) {
      return { read: { kind: 'too_complex', reason: strings.tooComplexBecause.size }, cache: true };
    }
    if (error instanceof IngestFileError)
      return { read: { kind: 'unreadable', reason: error.message }, cache: true };
    return { read: { kind: 'failed', reason: (error as Error).message ?? String(error) }, cache: false };
  }
}

function passageFor(name: string, text: string, index: number): Passage {
  return {
    id: `attachment-${index}`,
    text,
    score: 1,
    source: `${name} (attached)`,
    title: name,
    metadata: { attachment: true },
  };
}

/**
 * A start of `text` whose passage costs at most `budget` tokens as the core will count it
 * (close to the longest), or undefined when not even a useful start fits. Each try formats
 * and counts at most what could fit, and each cuts in proportion to how far over it was, so
 * a few passes over a shrinking text do it, whatever the text.
 */
function fitToBudget(name: string, text: string, index: number, budget: number): string | undefined {
  const cost = (length: number) =>
    countTokens(formatPassage(passageFor(name, text.slice(0, length), index), index));
  // No token covers 40 characters: nothing past that bound can fit.
  let length = Math.min(text.length, budget * 40);
  const useful = Math.min(MIN_USEFUL_CHARS, text.length);
  for (let attempt = 0; attempt < FIT_ATTEMPTS && length >= useful && length > 0; attempt++) {
    const spent = cost(length);
    if (spent <= budget) return text.slice(0, length);
    length = Math.floor(length * Math.min(0.97, budget / spent));
  }
  return undefined;
}

function describeDownloadProblem(error: unknown): string {
  return error instanceof DownloadError ? error.message : 'the download failed';
}

const PEOPLE: JobOwner = { lane: 'people', key: 'anyone' };

/**
 * Reads the files in order until the token budget is spent; never throws. Aborting `signal`
 * (the answer interrupted) stops the reading, and what was read so far is kept.
 */
export async function readAttachments(
  files: readonly AttachedFile[],
  limits: AttachmentLimits,
  options: ReadOptions,
): Promise<ReadAttachments> {
  const passages: Passage[] = [];
  const notes: AttachmentNote[] = [];
  const skipped: AttachedFile[] = [];
  let remaining = limits.maxTokens;
  const { log } = options;
  const parser = options.parser ?? parsePool();
  const maxTotalBytes = limits.maxTotalBytes ?? 3 * limits.maxFileBytes;
  const maxTotalMs = limits.maxTotalMs ?? 2 * parser.settings.timeMs;
  // One deadline for all of this question's files: downloads, waiting for a parser, parsing.
  const deadline = AbortSignal.timeout(maxTotalMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  let downloaded = 0;
  const quoted = (file: AttachedFile) => options.quote(cleanFileName(file.name));
  const note = (file: AttachedFile, text: string) =>
    notes.push({ text, ...(file.id ? { fileId: file.id } : {}) });
  const overBudget = (file: AttachedFile, what: 'time' | 'bytes') =>
    note(
      file,
      strings.fileOverQuestionBudget(
        quoted(file),
        what === 'time' ? `${Math.round(maxTotalMs / 1000)} s` : `${megabytes(maxTotalBytes)} MB`,
      ),
    );

  for (const [position, file] of files.entries()) {
    if (position >= limits.maxFiles) {
      notes.push({ text: strings.tooManyFiles(limits.maxFiles, files.length - limits.maxFiles) });
      break;
    }
    if (options.signal?.aborted) break;
    const name = cleanFileName(file.name);
    const type = attachmentType(file);
    if (!type) {
      note(file, strings.fileUnsupported(quoted(file)));
      log.info({ mimeType: file.mimeType, size: file.size }, 'attached file of an unsupported type');
      continue;
    }
    if (file.size !== undefined && file.size > limits.maxFileBytes) {
      note(file, strings.fileTooLarge(quoted(file), megabytes(limits.maxFileBytes)));
      log.info({ size: file.size, type }, 'attached file over the size limit');
      continue;
    }
    if (remaining <= 0) {
      skipped.push(file);
      continue;
    }
    const key = options.cache && options.scope ? readFileKey(options.scope, file) : undefined;
    let cached = key ? options.cache?.get(key) : undefined;
    if (!cached) {
      if (deadline.aborted) {
        overBudget(file, 'time');
        continue;
      }
      const room = maxTotalBytes - downloaded;
      if ((file.size !== undefined && file.size > room) || room <= 0) {
        overBudget(file, 'bytes');
        continue;
      }
      // A parser is held before the download: nothing is fetched that could not be read now.
      let lease: ParseLease;
      try {
        lease = await parser.lease(options.owner ?? PEOPLE, signal);
      } catch (error) {
        if (error instanceof ParserBusyError) {
          note(file, strings.fileReaderBusy(quoted(file)));
          log.info({ type }, 'the parse queue was full: an attached file was not read');
          continue;
        }
        if (deadline.aborted && !options.signal?.aborted) {
          overBudget(file, 'time');
          continue;
        }
        break;
      }
      try {
        let data: Buffer;
        try {
          data = await file.download(Math.min(limits.maxFileBytes, room), signal);
        } catch (error) {
          if (options.signal?.aborted) break;
          if (deadline.aborted) overBudget(file, 'time');
          else if (error instanceof DownloadError && error.problem === 'too_large') {
            if (Math.min(limits.maxFileBytes, room) < limits.maxFileBytes) overBudget(file, 'bytes');
            else note(file, strings.fileTooLarge(quoted(file), megabytes(limits.maxFileBytes)));
          } else {
            note(file, strings.fileDownloadFailed(quoted(file), describeDownloadProblem(error)));
          }
          log.info(
            { type, problem: error instanceof DownloadError ? error.problem : 'error' },
            'could not download an attached file',
          );
          continue;
        }
        downloaded += data.length;
        const size = data.length;
        let parsed: Awaited<ReturnType<typeof parseText>>;
        try {
          // No token covers 40 characters: text past that is never given to the model.
          parsed = await parseText(data, name, type, limits.maxTokens * 40, parser, lease, signal);
        } catch {
          if (options.signal?.aborted) break;
          overBudget(file, 'time');
          continue;
        }
        cached = parsed.read;
        log.debug({ type, size, outcome: cached.kind }, 'parsed an attached file');
        // What the file is, is remembered; a download that failed, or a stop that can be the moment's, is not.
        if (key && parsed.cache) options.cache?.set(key, cached);
      } finally {
        lease.release();
      }
    }
    const read: ReadFile = cached;
    if (read.kind === 'too_complex') {
      note(file, strings.fileTooComplex(quoted(file), read.reason));
      log.info({ type, reason: read.reason }, 'an attached file was too large or complex to read');
      continue;
    }
    if (read.kind === 'failed') {
      note(file, strings.fileReaderFailed(quoted(file)));
      log.warn({ type, reason: read.reason }, 'the file reader failed on an attached file');
      continue;
    }
    if (read.kind === 'unreadable') {
      note(file, strings.fileUnreadable(quoted(file), read.reason));
      log.info({ type }, 'could not read an attached file');
      continue;
    }
    const text = read.text;
    if (!text) {
      note(file, strings.fileEmpty(quoted(file), type));
      continue;
    }
    const index = passages.length + 1;
    const fitted = fitToBudget(name, text, index, remaining);
    if (fitted === undefined) {
      skipped.push(file);
      remaining = 0;
      continue;
    }
    if (fitted.length < text.length || read.truncated) note(file, strings.fileCut(quoted(file)));
    const passage = passageFor(name, fitted, index);
    passages.push(passage);
    remaining -= countTokens(formatPassage(passage, index));
    log.debug({ type, chars: fitted.length }, 'read an attached file');
  }
  if (skipped.length > 0) {
    const ids = skipped.map((file) => file.id);
    const fileId = ids.every((id) => id !== undefined) ? ids.join('+') : undefined;
    notes.push({ text: strings.filesSkipped(skipped.map(quoted)), ...(fileId ? { fileId } : {}) });
  }
  return { passages, notes };
}
