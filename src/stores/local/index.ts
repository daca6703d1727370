/**
 * The embedded knowledge store: BM25 ranking (minisearch) over chunks kept in one JSON file,
 * so a fresh clone answers with no server, no account and nothing downloaded. Why BM25 and
 * not an embedded embedding model: see "Retrieval quality" in the README (eval numbers).
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import MiniSearch, { type Options, type SearchResult } from 'minisearch';
import type { Chunk, KnowledgeStore, Passage, SearchOptions, StoreStats } from '../../core/types.js';
import { type Logger, silentLogger } from '../../log.js';
import { queryTerms, searchTerm } from './terms.js';

const FILE = 'store.json';
const FORMAT_VERSION = 1;

interface StoredChunk {
  readonly id: string;
  readonly text: string;
  readonly source: string;
  readonly title?: string;
  readonly url?: string;
  readonly metadata: Record<string, unknown>;
}

interface StoreFile {
  readonly version: number;
  readonly chunks: StoredChunk[];
  readonly index: unknown;
}

/** The store's files cannot be read; the message says how to recover. */
export class LocalStoreError extends Error {
  override readonly name = 'LocalStoreError';
}

const INDEX_OPTIONS: Options<StoredChunk> = {
  idField: 'id',
  fields: ['title', 'text'],
  processTerm: searchTerm,
  searchOptions: {
    boost: { title: 2 },
    prefix: (term) => term.length >= 4,
    fuzzy: false,
    combineWith: 'OR',
  },
};

function toStored(chunk: Chunk): StoredChunk {
  return {
    id: chunk.id,
    text: chunk.text,
    source: chunk.source,
    ...(chunk.title ? { title: chunk.title } : {}),
    ...(chunk.url ? { url: chunk.url } : {}),
    metadata: { ...chunk.metadata },
  };
}

export interface LocalStoreOptions {
  /** Folder for the store file; created on first write. */
  readonly dir: string;
  readonly logger?: Logger;
}

export class LocalStore implements KnowledgeStore {
  readonly description: string;
  /**
   * Scores are the share of the question's content words a passage contains (0–1). Below a
   * third, the passage shares at most an incidental word with the question.
   */
  readonly defaultMinScore = 0.34;

  private readonly file: string;
  private readonly chunks = new Map<string, StoredChunk>();
  private index = new MiniSearch<StoredChunk>(INDEX_OPTIONS);
  private writes: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  private constructor(
    private readonly dir: string,
    logger: Logger,
  ) {
    this.file = join(dir, FILE);
    this.description = `local store (${dir})`;
    this.log = logger;
  }

  /** Opens the store in `dir`, loading what an earlier run saved. */
  static async open(options: LocalStoreOptions): Promise<LocalStore> {
    const store = new LocalStore(options.dir, options.logger ?? silentLogger);
    await store.load();
    return store;
  }

  async search(query: string, options: SearchOptions): Promise<Passage[]> {
    options.signal?.throwIfAborted();
    const wanted = queryTerms(query);
    if (wanted.length === 0 || this.chunks.size === 0) return [];
    let passages = this.index
      .search(query)
      .slice(0, options.topK)
      .map((result) => this.toPassage(result, wanted.length));
    // Fuzzy matching costs several times more: only when exact and prefix matching found
    // nothing relevant, which is when a typo is the likely reason.
    if ((passages[0]?.score ?? 0) < this.defaultMinScore) {
      const fuzzy = this.index
        .search(query, { fuzzy: (term) => (term.length >= 5 ? 0.2 : false) })
        .slice(0, options.topK)
        .map((result) => this.toPassage(result, wanted.length));
      if ((fuzzy[0]?.score ?? 0) > (passages[0]?.score ?? 0)) passages = fuzzy;
    }
    return passages;
  }

  async upsert(chunks: readonly Chunk[]): Promise<void> {
    for (const chunk of chunks) {
      const stored = toStored(chunk);
      if (this.chunks.has(stored.id)) this.index.replace(stored);
      else this.index.add(stored);
      this.chunks.set(stored.id, stored);
    }
    await this.save();
  }

  async delete(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      if (!this.chunks.delete(id)) continue;
      this.index.discard(id);
    }
    await this.save();
  }

  async listIds(): Promise<Map<string, string>> {
    return new Map([...this.chunks.values()].map((chunk) => [chunk.id, chunk.source]));
  }

  async reset(): Promise<void> {
    this.chunks.clear();
    this.index = new MiniSearch<StoredChunk>(INDEX_OPTIONS);
    await this.enqueue(() => rm(this.file, { force: true }));
  }

  async stats(): Promise<StoreStats> {
    return { vectorCount: this.chunks.size };
  }

  private toPassage(result: SearchResult, wantedTerms: number): Passage {
    const chunk = this.chunks.get(String(result.id))!;
    const { id, text, source, title, url, metadata } = chunk;
    // Share of distinct query terms this passage matched: comparable across questions, unlike raw BM25.
    const coverage = Math.min(1, new Set(result.queryTerms).size / wantedTerms);
    return {
      id,
      text,
      source,
      ...(title ? { title } : {}),
      ...(url ? { url } : {}),
      metadata,
      score: coverage,
    };
  }

  private async load(): Promise<void> {
    let raw: string;
    try {
      raw = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new LocalStoreError(`Cannot read the local store at ${this.file}: ${(error as Error).message}`);
    }
    try {
      const parsed = JSON.parse(raw) as StoreFile;
      if (parsed.version !== FORMAT_VERSION || !Array.isArray(parsed.chunks))
        throw new Error('unknown format');
      for (const chunk of parsed.chunks) this.chunks.set(chunk.id, chunk);
      this.index = MiniSearch.loadJSON<StoredChunk>(JSON.stringify(parsed.index), INDEX_OPTIONS);
    } catch (error) {
      throw new LocalStoreError(
        `The local store at ${this.file} is damaged (${(error as Error).message}). ` +
          `Delete the folder ${this.dir} and run the command again to rebuild it from your documents.`,
      );
    }
    this.log.debug({ chunks: this.chunks.size, file: this.file }, 'local store loaded');
  }

  /** Writes a complete new file, then renames it over the old one: a crash never leaves half a store. */
  private save(): Promise<void> {
    const snapshot: StoreFile = {
      version: FORMAT_VERSION,
      chunks: [...this.chunks.values()],
      index: this.index.toJSON(),
    };
    return this.enqueue(async () => {
      await mkdir(this.dir, { recursive: true });
      const temp = `${this.file}.${process.pid}.tmp`;
      await writeFile(temp, JSON.stringify(snapshot));
      await rename(temp, this.file);
    });
  }

  /** Serialises file operations so concurrent upserts cannot interleave writes. */
  private enqueue(operation: () => Promise<void>): Promise<void> {
    const next = this.writes.then(operation);
    this.writes = next.catch(() => undefined);
    return next;
  }
}
