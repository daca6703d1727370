/**
 * Ingestion: files and folders → chunks → the knowledge store. Chunk ids are content
 * addressed, so a re-run upserts only what changed; `prune` removes what a changed or
 * deleted file no longer produces. A bad file is reported and skipped; the rest lands.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Chunk, KnowledgeStore } from '../core/types.js';
import { type Logger, silentLogger } from '../log.js';
import { checkSupported, DEFAULT_MAX_FILE_MB, isSupported, readLimited } from './files.js';
import { type ParsePool, parsePool, readLimits } from './parse-pool.js';

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
  /** Files inside ingested folders left out, with why: unsupported types, links leading outside. */
  readonly skipped: readonly FileProblem[];
}

/** `reading`: files read (their chunks are uploaded as they fill batches); `pruning`: stale chunks removed. */
export type IngestPhase = 'reading' | 'pruning';

export interface IngestProgress {
  readonly phase: IngestPhase;
  readonly done: number;
  readonly total: number;
  /** Chunks produced so far, and how many of them were uploaded. */
  readonly chunks: number;
  readonly upserted: number;
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
  /** Largest file accepted, in bytes (default: loaders' DEFAULT_MAX_FILE_MB). */
  readonly maxFileBytes?: number;
  readonly onProgress?: (progress: IngestProgress) => void;
  readonly logger?: Logger;
  /** Sources are recorded relative to this folder. */
  readonly cwd?: string;
  /** Where files are parsed and chunked (default: the process's pool). */
  readonly parser?: ParsePool;
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

/** Real path, or undefined when it cannot be resolved (a broken link, a vanished file). */
async function real(path: string): Promise<string | undefined> {
  return realpath(path).catch(() => undefined);
}

/**
 * Files under the given paths, named as they were found. Symbolic links are followed when
 * their target lies inside the paths given; each real file and folder is taken once (so a link
 * loop ends, and a file reached both directly and through a link is read once, under its
 * direct name). Any other link is listed as skipped with the reason, never dropped silently.
 */
async function discover(paths: readonly string[], cwd: string): Promise<Discovery> {
  const files: string[] = [];
  const missing: string[] = [];
  const skipped: FileProblem[] = [];
  /** Real path → the name it was first found under. */
  const seen = new Map<string, string>();
  const links: string[] = [];
  const roots: string[] = [];
  for (const path of paths) {
    const root = await real(resolve(cwd, path));
    if (root) roots.push(root);
  }
  const inRoots = (target: string) =>
    roots.some((root) => target === root || target.startsWith(`${root}${sep}`));
  const skip = (path: string, reason: string): void => {
    skipped.push({ path: sourceName(path, cwd), reason });
  };

  const addFile = (path: string, realPath: string) => {
    if (seen.has(realPath)) return;
    seen.set(realPath, path);
    if (isSupported(path)) files.push(path);
    else skip(path, 'unsupported file type');
  };
  const walk = async (dir: string, realDir: string): Promise<void> => {
    if (seen.has(realDir)) return;
    seen.set(realDir, dir);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full, join(realDir, entry.name));
      else if (entry.isFile()) addFile(full, join(realDir, entry.name));
      // Links wait until every real entry is known, so direct names win over linked ones.
      else if (entry.isSymbolicLink()) links.push(full);
    }
  };
  const followLink = async (link: string): Promise<void> => {
    const target = await real(link);
    if (!target) return skip(link, 'broken symbolic link (its target does not exist)');
    if (!inRoots(target)) {
      return skip(link, 'symbolic link to a place outside the folders given (name its target to ingest it)');
    }
    const already = seen.get(target);
    if (already !== undefined) {
      return skip(link, `symbolic link to ${sourceName(already, cwd)}, which is already included`);
    }
    const info = await stat(target).catch(() => undefined);
    if (info?.isDirectory()) await walk(link, target);
    else if (info?.isFile()) addFile(link, target);
    else skip(link, 'symbolic link to something that is neither a file nor a folder');
  };

  for (const path of paths) {
    const full = resolve(cwd, path);
    const info = await stat(full).catch(() => undefined);
    const realPath = await real(full);
    if (!info || !realPath) missing.push(path);
    else if (info.isDirectory()) await walk(full, realPath);
    else if (!seen.has(realPath)) {
      // A file named explicitly is attempted even if unsupported, so the user hears why it failed.
      seen.set(realPath, full);
      files.push(full);
    }
  }
  // Following a link to a folder can find further links: work through them until none are left.
  for (let i = 0; i < links.length; i++) await followLink(links[i]!);
  return { files: files.sort(), missing, skipped };
}

/**
 * Where a file is, as a reader of an answer should see it: its path relative to the folder it
 * was ingested from (its name, when the file itself was named), never a path on the server.
 */
export function ingestedLocation(file: string, roots: readonly string[]): string {
  const root = roots.find((candidate) => file.startsWith(`${candidate}${sep}`));
  const rel = root ? relative(root, file) : basename(file);
  return rel.split(sep).join('/');
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
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const progress = options.onProgress ?? (() => undefined);
  const parser = options.parser ?? parsePool();
  const limits = readLimits(parser.settings, 'fail');
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_MB * 1_048_576;

  const { files, missing, skipped } = await discover(paths, cwd);
  const existing = await store.listIds();
  const roots = paths.map((path) => sourceName(path, cwd));
  const folders = paths.map((path) => resolve(cwd, path));

  const failed: FileProblem[] = [];
  // Only ids are kept across files; a file's chunks are let go once they are sent, so memory
  // stays bounded by one file plus the batches in flight, however many files there are.
  const producedIds = new Set<string>();
  const loadedSources = new Set<string>();
  let chunkCount = 0;
  let unchanged = 0;
  let upserted = 0;
  let pending: Chunk[] = [];
  const inFlight = new Set<Promise<void>>();
  let uploadError: unknown;
  const send = async (batch: Chunk[]) => {
    // Upstash takes a bounded number of requests at once: wait for a slot rather than queueing everything.
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (uploadError) throw uploadError;
    const request: Promise<void> = store.upsert(batch).then(
      () => {
        upserted += batch.length;
        inFlight.delete(request);
      },
      (error: unknown) => {
        inFlight.delete(request);
        uploadError ??= error;
      },
    );
    inFlight.add(request);
  };
  const report = (done: number) =>
    progress({ phase: 'reading', done, total: files.length, chunks: chunkCount, upserted });

  report(0);
  for (const [i, file] of files.entries()) {
    const source = sourceName(file, cwd);
    try {
      checkSupported(file);
      // Read here (I/O only); parsed and chunked in a parser process, within the pool's budgets.
      const data = await readLimited(file, maxFileBytes);
      const { chunks: parsed = [] } = await parser.run({
        kind: 'file',
        name: file,
        data,
        limits,
        chunkAs: source,
        ...(options.textField ? { textField: options.textField } : {}),
      });
      const location = ingestedLocation(resolve(cwd, file), folders);
      const chunks = parsed.map((chunk) => ({ ...chunk, metadata: { ...chunk.metadata, location } }));
      if (chunks.length === 0) throw new Error('no text found in the file');
      for (const chunk of chunks) {
        if (producedIds.has(chunk.id)) continue;
        producedIds.add(chunk.id);
        chunkCount += 1;
        if (existing.has(chunk.id)) unchanged += 1;
        else pending.push(chunk);
      }
      loadedSources.add(source);
    } catch (error) {
      failed.push({ path: source, reason: (error as Error).message });
      log.warn(
        { file: source, reason: (error as Error).message },
        'skipped a file that could not be ingested',
      );
    }
    while (pending.length >= batchSize) await send(pending.splice(0, batchSize));
    report(i + 1);
  }
  if (pending.length > 0) await send(pending);
  pending = [];
  await Promise.all(inFlight);
  if (uploadError) throw uploadError;
  report(files.length);

  let removed = 0;
  const missingRoots = new Set(missing.map((path) => sourceName(path, cwd)));
  if (options.prune) {
    const found = new Set(files.map((file) => sourceName(file, cwd)));
    const failedSources = new Set(failed.map((problem) => problem.path));
    const stale = [...existing].filter(([id, source]) => {
      if (loadedSources.has(source)) return !producedIds.has(id); // the file changed
      const inScope = roots.some((root) => isUnder(source, root));
      return inScope && !failedSources.has(source) && !found.has(source); // the file vanished
    });
    const ids = stale.map(([id]) => id);
    for (let i = 0; i < ids.length; i += batchSize) {
      await store.delete(ids.slice(i, i + batchSize));
      removed = Math.min(ids.length, i + batchSize);
      progress({ phase: 'pruning', done: removed, total: ids.length, chunks: chunkCount, upserted });
    }
    // A named path that is gone is a deletion to prune, not a failure, if the store knew it.
    for (const root of [...missingRoots]) {
      if (stale.some(([, source]) => isUnder(source, root))) missingRoots.delete(root);
    }
  }
  for (const path of missingRoots) failed.push({ path, reason: 'no such file or folder' });

  return {
    files: loadedSources.size,
    chunks: chunkCount,
    upserted,
    unchanged,
    removed,
    failed,
    skipped,
  };
}
