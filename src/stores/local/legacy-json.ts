/**
 * Earlier versions kept the local store in one JSON file (`store.json`: every chunk plus a
 * minisearch index). The first open of a folder holding one copies its chunks into SQLite in
 * one transaction, then renames the file to `store.json.imported`, so nothing is lost and
 * nobody has to re-ingest. The chunks are re-indexed with today's terms; the old index is unused.
 */
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Chunk } from '../../core/types.js';
import type { Logger } from '../../log.js';
import { LocalStoreError } from './errors.js';

export const LEGACY_FILE = 'store.json';
export const IMPORTED_SUFFIX = '.imported';

interface LegacyChunk {
  readonly id: string;
  readonly text: string;
  readonly source: string;
  readonly title?: string;
  readonly url?: string;
  readonly metadata?: Record<string, unknown>;
}

function isLegacyChunk(value: unknown): value is LegacyChunk {
  const chunk = value as Partial<LegacyChunk> | null;
  return (
    typeof chunk === 'object' &&
    chunk !== null &&
    typeof chunk.id === 'string' &&
    typeof chunk.text === 'string' &&
    typeof chunk.source === 'string'
  );
}

function readLegacy(file: string, dir: string): Chunk[] | undefined {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LocalStoreError(`Cannot read the old local store at ${file}: ${(error as Error).message}`);
  }
  try {
    const parsed = JSON.parse(raw) as { version?: unknown; chunks?: unknown };
    if (parsed.version !== 1 || !Array.isArray(parsed.chunks)) throw new Error('unknown format');
    const bad = parsed.chunks.findIndex((chunk) => !isLegacyChunk(chunk));
    if (bad !== -1) throw new Error(`chunk ${bad + 1} lacks an id, text or source`);
    return (parsed.chunks as LegacyChunk[]).map((chunk) => ({
      id: chunk.id,
      text: chunk.text,
      source: chunk.source,
      ...(chunk.title ? { title: chunk.title } : {}),
      ...(chunk.url ? { url: chunk.url } : {}),
      metadata: chunk.metadata ?? {},
    }));
  } catch (error) {
    throw new LocalStoreError(
      `The old local store at ${file} is damaged (${(error as Error).message}), so it cannot be imported. ` +
        `Move it out of ${dir} and ingest your documents again (npm run ingest).`,
    );
  }
}

/**
 * Imports `store.json` from `dir` through `save` (one transaction) and renames it. Returns the
 * number of chunks imported; 0 when there was nothing to import.
 */
export function importLegacyJson(dir: string, save: (chunks: readonly Chunk[]) => void, log: Logger): number {
  const file = join(dir, LEGACY_FILE);
  const chunks = readLegacy(file, dir);
  if (!chunks) return 0;
  // Upserts are idempotent, so two processes importing at once both land the same rows.
  save(chunks);
  try {
    renameSync(file, `${file}${IMPORTED_SUFFIX}`);
  } catch (error) {
    // Another process importing at the same moment renamed it first.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  log.debug({ file }, 'old JSON store imported');
  return chunks.length;
}
