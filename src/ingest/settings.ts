/** Ingestion: the largest file `npm run ingest` and `/kb add` accept. */
import { defineSettings } from '../settings/area.js';
import { int } from '../settings/variables.js';

export interface IngestSlice {
  readonly ingest: { readonly maxFileMB: number };
}

export const ingestSettings = defineSettings({
  variables: {
    /** Largest file ingestion accepts, in megabytes. */
    INGEST_MAX_FILE_MB: int(20, 1, 2_048),
  },
  build: (env): IngestSlice => ({ ingest: { maxFileMB: env.INGEST_MAX_FILE_MB } }),
});
