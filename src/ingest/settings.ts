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
    /** Documents parsed at once, each in its own worker thread. */
    PARSE_THREADS: int(2, 1, 64),
    /** Heap one document's parse may use, in megabytes. */
    PARSE_MEMORY_MB: int(256, 32, 16_384),
    /** Time one document's parse may take, in milliseconds. */
    PARSE_TIME_LIMIT_MS: int(15_000, 100, 600_000),
    /** Characters of text one document may expand to. */
    PARSE_MAX_CHARS: int(5_000_000, 1_000, 500_000_000),
    /** PDF pages read from one document. */
    PARSE_MAX_PAGES: int(500, 1, 100_000),
    /** What a PDF's compressed streams may inflate to, in megabytes. */
    PARSE_MAX_INFLATED_MB: int(256, 1, 16_384),
  },
  build: (env): IngestSlice => ({
    ingest: { maxFileMB: env.INGEST_MAX_FILE_MB },
    parsing: {
      threads: env.PARSE_THREADS,
      memoryMB: env.PARSE_MEMORY_MB,
      timeMs: env.PARSE_TIME_LIMIT_MS,
      maxChars: env.PARSE_MAX_CHARS,
      maxPages: env.PARSE_MAX_PAGES,
      maxInflatedMB: env.PARSE_MAX_INFLATED_MB,
    },
  }),
});
