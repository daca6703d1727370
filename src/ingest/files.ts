/**
 * What the main thread needs to know about files without loading any parser: which types are
 * read, how a file is read from disk within its size limit, and the errors a read can end in.
 * The parsers themselves (`loaders.ts`) run in the parse pool's parser processes.
 */
import { open } from 'node:fs/promises';
import { basename, extname } from 'node:path';

export class IngestFileError extends Error {
  override readonly name = 'IngestFileError';
}

/** The file would expand past a budget: too large or complex to read. */
export class TooLargeError extends IngestFileError {}

/**
 * A parse was stopped at its process's time or memory budget (`limit`: seconds or MB). Unlike
 * the document's own limits, what stopped it can depend on the moment (a busy machine), so
 * such an outcome is never remembered as what the file is.
 */
export class ParseBudgetError extends TooLargeError {
  constructor(
    message: string,
    readonly budget: 'time' | 'memory',
    readonly limit: number,
  ) {
    super(message);
  }
}

/** What one document may expand to. */
export interface ReadLimits {
  /** Characters of text extracted. */
  readonly maxChars: number;
  /** PDF pages read. */
  readonly maxPages: number;
  /** Past a budget: `cut` keeps what fits (a chat attachment), `fail` refuses the file (ingestion). */
  readonly overflow: 'cut' | 'fail';
}

export const DEFAULT_READ_LIMITS: ReadLimits = {
  maxChars: 5_000_000,
  maxPages: 500,
  overflow: 'fail',
};

/** Default per-file limit: far above any real handbook page, far below what exhausts memory. */
export const DEFAULT_MAX_FILE_MB = 20;

const MB = 1024 * 1024;

/** Text written in a markup language, by extension: read as Markdown once converted (loaders.ts). */
export type MarkupFormat = 'markdown' | 'mdx' | 'rst' | 'asciidoc' | 'text';
export const MARKUP_FORMATS: Readonly<Record<string, MarkupFormat>> = {
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.mdx': 'mdx',
  '.rst': 'rst',
  '.adoc': 'asciidoc',
  '.asciidoc': 'asciidoc',
  '.txt': 'text',
  '.text': 'text',
};

export const SUPPORTED_EXTENSIONS = [
  ...Object.keys(MARKUP_FORMATS),
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

function megabytes(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

/**
 * Reads the file once, refusing it before reading if it is over the limit: the size is
 * checked on the open handle, so a file growing meanwhile cannot slip past.
 */
export async function readLimited(path: string, maxBytes: number): Promise<Buffer> {
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

/** Refuses a file whose extension no loader reads, saying which ones do. */
export function checkSupported(path: string): void {
  if (!isSupported(path)) {
    const extension = extname(path).toLowerCase();
    throw new IngestFileError(
      `unsupported file type "${extension || basename(path)}" (supported: ${SUPPORTED_EXTENSIONS.join(' ')})`,
    );
  }
}
