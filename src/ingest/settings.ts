/**
 * Ingestion: the largest file `npm run ingest` and `/kb add` accept, and the parse pool's
 * budgets for every untrusted document (attachments, crawled pages, ingested files).
 */
import { defineSettings } from '../settings/area.js';
import { int } from '../settings/variables.js';
import type { ParseSettings } from './parse-pool.js';

export interface IngestSlice {
  readonly ingest: { readonly maxFileMB: number };
  readonly parsing: ParseSettings;
}

export const ingestSettings = defineSettings({
  variables: {
    /** Largest file ingestion accepts, in megabytes. */
    INGEST_MAX_FILE_MB: int(20, 1, 2_048),
    /** Documents parsed at once, each in its own process; 0: one fewer than the cores, at least 1. */
    PARSE_THREADS: int(0, 0, 64),
    /** Memory one document's parse may use, in megabytes (its process is ended past it). */
    PARSE_MEMORY_MB: int(256, 32, 16_384),
    /** Time one document's parse may take, in milliseconds. */
    PARSE_TIME_LIMIT_MS: int(15_000, 100, 600_000),
    /** Characters of text one document may expand to. */
    PARSE_MAX_CHARS: int(5_000_000, 1_000, 500_000_000),
    /** PDF pages read from one document. */
    PARSE_MAX_PAGES: int(500, 1, 100_000),
  },
  build: (env): IngestSlice => ({
    ingest: { maxFileMB: env.INGEST_MAX_FILE_MB },
    parsing: {
      threads: env.PARSE_THREADS,
      memoryMB: env.PARSE_MEMORY_MB,
      timeMs: env.PARSE_TIME_LIMIT_MS,
      maxChars: env.PARSE_MAX_CHARS,
      maxPages: env.PARSE_MAX_PAGES,
    },
  }),
});
