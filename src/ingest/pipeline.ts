/**
 * Ingestion: files and folders → chunks → the knowledge store. Chunk ids are content
 * addressed, so a re-run upserts only what changed; `prune` removes what a changed or
 * deleted file no longer produces. A bad file is reported and skipped; the rest lands.
 */
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import pLimit from 'p-limit';
import type { Chunk, KnowledgeStore } from '../core/types.js';
import { type Logger, silentLogger } from '../log.js';
import { chunkDocument } from './chunk.js';
import { isSupported, loadFile } from './loaders.js';

export interface FileProblem {
  readonly path: string;
  readonly reason: string;
}

export interface IngestSummary {
  /** Files read successfully. */
  readonly files: number;
  /** Chunks those files produced. */
  readonly chunks: number;
  readonly upserted: number;
  /** Chunks already in the store with the same content. */
  readonly unchanged: number;
  readonly removed: number;
  readonly failed: readonly FileProblem[];
  /** Files inside ingested folders that are not a supported type. */
  readonly skipped: readonly FileProblem[];
}

export type IngestPhase = 'reading' | 'upserting' | 'pruning';

export interface IngestProgress {
  readonly phase: IngestPhase;
  readonly done: number;
  readonly total: number;
}

export interface IngestOptions {
  /** Remove chunks of files that changed or vanished under the given paths. */
  readonly prune?: boolean;
  /** Chunks per upsert request. */
  readonly batchSize?: number;
  /** Upsert requests in flight at once. */
  readonly concurrency?: number;
  /** Which field of JSON records holds the text. */
  readonly textField?: string;
  readonly onProgress?: (progress: IngestProgress) => void;
  readonly logger?: Logger;
  /** Sources are recorded relative to this folder. */
  readonly cwd?: string;
}

/** Chunks per upsert: Upstash Vector accepts up to 1,000 vectors in one request. */
export const DEFAULT_BATCH_SIZE = 1_000;
const DEFAULT_CONCURRENCY = 4;

/** Source name for a path: relative to cwd, with forward slashes on every OS. */
export function sourceName(path: string, cwd: string): string {
  const rel = relative(cwd, resolve(cwd, path));
  const name = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : resolve(cwd, path);
  return name.split(sep).join('/');
}

interface Discovery {
  readonly files: string[];
  readonly missing: string[];
  readonly skipped: FileProblem[];
}

async function discover(paths: readonly string[], cwd: string): Promise<Discovery> {
  const files = new Set<string>();
  const missing: string[] = [];
  const skipped: FileProblem[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && isSupported(full)) files.add(full);
      else if (entry.isFile()) skipped.push({ path: sourceName(full, cwd), reason: 'unsupported file type' });
    }
  };
  for (const path of paths) {
    const full = resolve(cwd, path);
    const info = await stat(full).catch(() => undefined);
    if (!info) missing.push(path);
    else if (info.isDirectory()) await walk(full);
    // A file named explicitly is attempted even if unsupported, so the user hears why it failed.
    else files.add(full);
  }
  return { files: [...files].sort(), missing, skipped };
}

function isUnder(source: string, root: string): boolean {
  return source === root || source.startsWith(root.endsWith('/') ? root : `${root}/`);
}

export async function ingestPaths(
  store: KnowledgeStore,
  paths: readonly string[],
  options: IngestOptions = {},
): Promise<IngestSummary> {
  const cwd = options.cwd ?? process.cwd();
  const log = options.logger ?? silentLogger;
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE);
  const limit = pLimit(Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY));
  const progress = options.onProgress ?? (() => undefined);

  const { files, missing, skipped } = await discover(paths, cwd);
  const existing = await store.listIds();
  const roots = paths.map((path) => sourceName(path, cwd));

  const failed: FileProblem[] = [];
  const produced = new Map<string, Chunk>();
  const loadedSources = new Set<string>();
  for (const [i, file] of files.entries()) {
    const source = sourceName(file, cwd);
    try {
      const document = await loadFile(file, options.textField ? { textField: options.textField } : {});
      const chunks = chunkDocument(document, source);
      if (chunks.length === 0) throw new Error('no text found in the file');
      for (const chunk of chunks) produced.set(chunk.id, chunk);
      loadedSources.add(source);
    } catch (error) {
      failed.push({ path: source, reason: (error as Error).message });
      log.warn(
        { file: source, reason: (error as Error).message },
        'skipped a file that could not be ingested',
      );
    }
    progress({ phase: 'reading', done: i + 1, total: files.length });
  }

  const fresh = [...produced.values()].filter((chunk) => !existing.has(chunk.id));
  const batches: Chunk[][] = [];
  for (let i = 0; i < fresh.length; i += batchSize) batches.push(fresh.slice(i, i + batchSize));
  let upserted = 0;
  progress({ phase: 'upserting', done: 0, total: fresh.length });
  await Promise.all(
    batches.map((batch) =>
      limit(async () => {
        await store.upsert(batch);
        upserted += batch.length;
        progress({ phase: 'upserting', done: upserted, total: fresh.length });
      }),
    ),
  );

  let removed = 0;
  const missingRoots = new Set(missing.map((path) => sourceName(path, cwd)));
  if (options.prune) {
    const stale = [...existing].filter(([id, source]) => {
      if (loadedSources.has(source)) return !produced.has(id); // the file changed
      const inScope = roots.some((root) => isUnder(source, root));
      const failedNow = failed.some((problem) => problem.path === source);
      return inScope && !failedNow && !files.some((file) => sourceName(file, cwd) === source); // the file vanished
    });
    const ids = stale.map(([id]) => id);
    for (let i = 0; i < ids.length; i += batchSize) {
      await store.delete(ids.slice(i, i + batchSize));
      removed = Math.min(ids.length, i + batchSize);
      progress({ phase: 'pruning', done: removed, total: ids.length });
    }
    // A named path that is gone is a deletion to prune, not a failure, if the store knew it.
    for (const root of [...missingRoots]) {
      if (stale.some(([, source]) => isUnder(source, root))) missingRoots.delete(root);
    }
  }
  for (const path of missingRoots) failed.push({ path, reason: 'no such file or folder' });

  return {
    files: loadedSources.size,
    chunks: produced.size,
    upserted,
    unchanged: produced.size - fresh.length,
    removed,
    failed,
    skipped,
  };
}
