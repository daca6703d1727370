/**
 * The work a parser process does, as plain functions: the process (`parse-child.ts`) runs them
 * off the main thread, and the benchmark runs them on it for comparison. Each takes and returns
 * structured-cloneable data only, and reports a problem as a value rather than an exception so
 * that its kind survives the trip between processes.
 */
import type { Chunk } from '../core/types.js';
import { chunkDocument } from './chunk.js';
import { type SourceInput, sourceDocument } from './formats/source.js';
import { readPage } from './html.js';
import {
  IngestFileError,
  type LoadedDocument,
  loadBytes,
  type ReadLimits,
  TooLargeError,
} from './loaders.js';
import { type SitemapEntries, sitemapLocations } from './sitemap.js';

/** A file's bytes: an attachment, or a file read from disk for ingestion. */
export interface FileJob {
  readonly kind: 'file';
  /** The file's name; `type` (an extension such as `.pdf`) overrides what its name says. */
  readonly name: string;
  readonly type?: string;
  readonly data: Uint8Array;
  readonly limits: ReadLimits;
  readonly textField?: string;
  /** JSON that is not a list of records is read as text (attachments), instead of failing. */
  readonly jsonAsText?: boolean;
  /** Chunk the document for this source name too. */
  readonly chunkAs?: string;
}

export interface FileResult {
  readonly document: LoadedDocument;
  readonly chunks?: Chunk[];
}

/** A crawled web page. */
export interface PageJob {
  readonly kind: 'page';
  readonly html: string;
  readonly url: string;
  readonly maxChars: number;
}

export interface PageResult {
  readonly title?: string;
  readonly markdown: string;
  readonly links: readonly string[];
  readonly chunks: Chunk[];
}

export interface SitemapJob {
  readonly kind: 'sitemap';
  readonly xml: string;
}

/** An item a knowledge source fetched (src/knowledge/kinds): converted and chunked. */
export interface SourceJob extends SourceInput {
  readonly kind: 'source';
  /** Where a person opens it: the passages' source and URL (with headings' anchors unless `anchors` is false). */
  readonly url: string;
  readonly anchors: boolean;
}

export interface SourceResult {
  readonly title?: string;
  readonly markdown: string;
  readonly chunks: Chunk[];
}

export type ParseJob = FileJob | PageJob | SitemapJob | SourceJob;
export type JobResult<J extends ParseJob> = J extends FileJob
  ? FileResult
  : J extends PageJob
    ? PageResult
    : J extends SourceJob
      ? SourceResult
      : SitemapEntries;

/** How a job ended, as it crosses back to the main thread. */
export type JobResponse =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly problem: 'file' | 'too_large' | 'error'; readonly message: string };

/**
 * Each passage once: a page or file repeating the same block (a table of one row thousands of
 * times) yields one passage for it, not thousands to store, embed and search.
 */
function distinct(chunks: readonly Chunk[]): Chunk[] {
  const seen = new Set<string>();
  return chunks.filter((chunk) => !seen.has(chunk.id) && seen.add(chunk.id) !== undefined);
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

async function readFile(job: FileJob): Promise<FileResult> {
  const name = job.type && !job.name.toLowerCase().endsWith(job.type) ? `${job.name}${job.type}` : job.name;
  const options = { limits: job.limits, ...(job.textField ? { textField: job.textField } : {}) };
  let document: LoadedDocument;
  try {
    document = await loadBytes(name, asBuffer(job.data), options);
  } catch (error) {
    const json = (job.type ?? name.slice(name.lastIndexOf('.'))).toLowerCase() === '.json';
    if (!job.jsonAsText || !json || error instanceof TooLargeError || !(error instanceof IngestFileError))
      throw error;
    document = await loadBytes(`${job.name}.txt`, asBuffer(job.data), options);
  }
  return {
    document,
    ...(job.chunkAs !== undefined ? { chunks: distinct(chunkDocument(document, job.chunkAs)) } : {}),
  };
}

function readWebPage(job: PageJob): PageResult {
  const page = readPage(job.html, job.url, { maxChars: job.maxChars });
  const chunks = page.markdown
    ? distinct(
        chunkDocument(
          {
            kind: 'text',
            markdown: page.markdown,
            url: job.url,
            ...(page.title ? { title: page.title } : {}),
          },
          job.url,
        ),
      )
    : [];
  return { ...(page.title ? { title: page.title } : {}), markdown: page.markdown, links: page.links, chunks };
}

async function readSource(job: SourceJob): Promise<SourceResult> {
  const document = await sourceDocument(job);
  const chunks = document.markdown.trim()
    ? distinct(
        chunkDocument(
          {
            kind: 'text',
            markdown: document.markdown,
            url: job.url,
            ...(document.title ? { title: document.title } : {}),
          },
          job.url,
        ),
      ).map((chunk) => (job.anchors ? chunk : { ...chunk, url: job.url }))
    : [];
  return { ...document, chunks };
}

/** Runs one job; never throws. */
export async function runJob(job: ParseJob): Promise<JobResponse> {
  try {
    if (job.kind === 'file') return { ok: true, value: await readFile(job) };
    if (job.kind === 'page') return { ok: true, value: readWebPage(job) };
    if (job.kind === 'source') return { ok: true, value: await readSource(job) };
    return { ok: true, value: sitemapLocations(job.xml) };
  } catch (error) {
    if (error instanceof TooLargeError) return { ok: false, problem: 'too_large', message: error.message };
    if (error instanceof IngestFileError) return { ok: false, problem: 'file', message: error.message };
    return { ok: false, problem: 'error', message: (error as Error).message ?? String(error) };
  }
}
