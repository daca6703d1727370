/**
 * The production knowledge store: an Upstash Vector index with built-in embedding models,
 * through @upstash/vector. Text goes in and out as `data` (the index embeds it); citation
 * fields ride along as metadata. Each collection is a namespace: `default` is the configured
 * namespace (UPSTASH_VECTOR_NAMESPACE), any other is `<namespace>:<collection>` (or just the
 * collection's name when no namespace is configured).
 *
 * The index's type is read once from `info`. A dense index is queried as it always was. A
 * hybrid index (a dense and a sparse vector per passage, both embedded by the index's own
 * models from the same `data`) is ranked by the configured query mode (both parts fused with
 * RRF or DBSF, or one part alone), while each passage's relevance score, which the "nothing in
 * the knowledge base" floor judges, is its dense similarity from a second query in the same
 * request: fused scores are ranks or normalised distributions, which say nothing about whether
 * a passage is relevant at all. A sparse-only index has no bounded score: it gets no default
 * floor (set RAG_MIN_SCORE for it).
 *
 * The SDK reports failures as `UpstashError(<server message>)` without the status code, so
 * failures are classified by that message. The SDK's own retries cover network errors only;
 * ours cover those, 5xx and timeouts alike, so its retries are off.
 */
import {
  FusionAlgorithm,
  Index,
  type InfoResult,
  QueryMode,
  type QueryResult,
  WeightingStrategy,
} from '@upstash/vector';
import { type Failure, failures, RagError } from '../core/failures.js';
import {
  type Chunk,
  type CollectionStore,
  DEFAULT_COLLECTION,
  type Passage,
  type SearchOptions,
  type StoreStats,
} from '../core/types.js';
import { type Logger, silentLogger } from '../log.js';
import type { HybridSettings } from './settings.js';

export type IndexKind = 'dense' | 'sparse' | 'hybrid';

/** What `info` says about the index: its type and its built-in models. */
export interface IndexShape {
  readonly kind: IndexKind;
  readonly denseModel?: string;
  readonly sparseModel?: string;
}

export const DEFAULT_HYBRID: HybridSettings = { fusion: 'rrf', queryMode: 'hybrid', weighting: 'auto' };

/** The index type from `info` (`indexType`, or which parts it describes for older responses). */
export function indexShape(info: InfoResult): IndexShape {
  const declared = String((info as InfoResult & { indexType?: unknown }).indexType ?? '').toUpperCase();
  const kind: IndexKind =
    declared === 'HYBRID' || (info.denseIndex && info.sparseIndex)
      ? 'hybrid'
      : declared === 'SPARSE' || (!info.denseIndex && info.sparseIndex)
        ? 'sparse'
        : 'dense';
  return {
    kind,
    ...(info.denseIndex?.embeddingModel ? { denseModel: info.denseIndex.embeddingModel } : {}),
    ...(info.sparseIndex?.embeddingModel ? { sparseModel: info.sparseIndex.embeddingModel } : {}),
  };
}

/** The index's type, read once and shared by every collection's view of the index. */
interface ShapeCache {
  promise?: Promise<IndexShape>;
  known?: IndexShape;
}

export interface UpstashStoreOptions {
  readonly url: string;
  readonly token: string;
  /** '' is the index's default namespace; the `default` collection lives in it. */
  readonly namespace: string;
  /** The collection this instance writes into (default: `default`). */
  readonly collection?: string;
  /** Per-request time limit. */
  readonly timeoutMs?: number;
  /** Retries after network errors, 5xx and timeouts. */
  readonly maxRetries?: number;
  /** How a hybrid index is queried (UPSTASH_VECTOR_FUSION, _QUERY_MODE, _SPARSE_WEIGHTING). */
  readonly hybrid?: HybridSettings;
  readonly logger?: Logger;
}

type Metadata = Record<string, unknown>;

const SERVICE = 'Upstash Vector';
/** Upstash accepts at most 1,000 vectors per upsert or delete request. */
export const UPSTASH_BATCH_LIMIT = 1_000;
const RANGE_PAGE = 1_000;
/** What to tell a user to wait after Upstash's per-second limits outlast the retries. */
const RATE_LIMIT_WAIT_SECONDS = 5;

function classify(error: unknown): { retry: boolean; failure: Failure } {
  const message = error instanceof Error ? error.message : String(error);
  if (/unauthori[sz]ed|invalid auth|forbidden|invalid token/i.test(message)) {
    return { retry: false, failure: failures.misconfigured(SERVICE, 'UPSTASH_VECTOR_REST_TOKEN') };
  }
  if (/embedding/i.test(message) && /not allowed|model|vectors instead/i.test(message)) {
    return {
      retry: false,
      failure: {
        kind: 'misconfigured',
        service: SERVICE,
        variable: 'UPSTASH_VECTOR_REST_URL',
        message:
          'The bot is misconfigured: its Upstash Vector index has no built-in embedding model. Create an index with an embedding model (e.g. BGE_SMALL_EN_V1_5) and point UPSTASH_VECTOR_REST_URL at it.',
      },
    };
  }
  // Over the plan's requests per day (free: 10,000 queries and 10,000 updates): a retry only
  // spends more of tomorrow's, and the user hears it is a limit, not a fault of the bot.
  if (/daily/i.test(message) && /limit|quota/i.test(message)) {
    return { retry: false, failure: failures.dailyLimit(SERVICE) };
  }
  if (/rate.?limit|too many requests|requests? limit exceeded/i.test(message)) {
    return { retry: true, failure: failures.rateLimited(SERVICE, RATE_LIMIT_WAIT_SECONDS) };
  }
  // Requests the service refuses as malformed will fail the same way again.
  if (/exceed|invalid|must be|not allowed|limit/i.test(message) && !/rate/i.test(message)) {
    return {
      retry: false,
      failure: {
        kind: 'internal',
        service: SERVICE,
        message: `Upstash Vector refused the request: ${message}`,
      },
    };
  }
  return { retry: true, failure: failures.unavailable(SERVICE) };
}

/** The namespace holding `collection` when the default collection lives in `base`. */
export function collectionNamespace(base: string, collection: string): string {
  if (collection === DEFAULT_COLLECTION) return base;
  return base ? `${base}:${collection}` : collection;
}

/**
 * Upstash reports cosine similarity as (1 + cos) / 2, so unrelated text sits near 0.5 and
 * built-in models score relevant passages around 0.75–0.9; 0.7 drops only the unrelated.
 */
export const DENSE_MIN_SCORE = 0.7;

export class UpstashStore implements CollectionStore {
  readonly description: string;
  private readonly index: Index<Metadata>;
  private readonly namespace: string;
  private readonly maxRetries: number;
  private readonly log: Logger;
  private readonly reportedSources = new Set<string>();
  private readonly shapes: ShapeCache;

  constructor(
    private readonly options: UpstashStoreOptions,
    shapes: ShapeCache = {},
  ) {
    this.shapes = shapes;
    const timeoutMs = options.timeoutMs ?? 10_000;
    this.namespace = collectionNamespace(options.namespace, options.collection ?? DEFAULT_COLLECTION);
    this.maxRetries = options.maxRetries ?? 2;
    this.log = options.logger ?? silentLogger;
    this.description = `Upstash Vector (${new URL(options.url).host}${this.namespace ? `, namespace ${this.namespace}` : ''})`;
    this.index = new Index<Metadata>({
      url: options.url,
      token: options.token,
      retry: false,
      enableTelemetry: false,
      // A function gives every request its own deadline (a plain signal would be shared).
      signal: () => AbortSignal.timeout(timeoutMs),
    });
  }

  private get scope(): { namespace?: string } {
    return this.namespace ? { namespace: this.namespace } : {};
  }

  collection(name: string): UpstashStore {
    return new UpstashStore({ ...this.options, collection: name }, this.shapes);
  }

  /**
   * Dense and hybrid scores are dense similarities (see the module comment); a sparse-only
   * index's are unbounded sums, so no floor is assumed for it.
   */
  get defaultMinScore(): number {
    return this.shapes.known?.kind === 'sparse' ? 0 : DENSE_MIN_SCORE;
  }

  /** The index's type, asked once (a failure is not remembered, so the next search asks again). */
  shape(): Promise<IndexShape> {
    this.shapes.promise ??= this.call('info', () => this.index.info()).then(
      (info) => {
        const shape = indexShape(info);
        this.shapes.known = shape;
        this.log.debug({ ...shape }, 'Upstash index type');
        return shape;
      },
      (error: unknown) => {
        this.shapes.promise = undefined;
        throw error;
      },
    );
    return this.shapes.promise;
  }

  /** Collections are the namespaces under the configured one (all of them when it is ''). */
  async collections(): Promise<Map<string, number>> {
    const info = await this.call('info', () => this.index.info());
    const base = this.options.namespace;
    const found = new Map<string, number>();
    for (const [namespace, { vectorCount }] of Object.entries(info.namespaces ?? {})) {
      if (vectorCount === 0) continue;
      if (namespace === base) found.set(DEFAULT_COLLECTION, vectorCount);
      else if (base && namespace.startsWith(`${base}:`))
        found.set(namespace.slice(base.length + 1), vectorCount);
      else if (!base && namespace) found.set(namespace, vectorCount);
    }
    return found;
  }

  /**
   * One query per collection's namespace, merged by the score each was ranked by (comparable
   * across queries: a similarity, or a fused rank score): no passage of another collection can
   * appear.
   */
  async search(query: string, options: SearchOptions): Promise<Passage[]> {
    const collections = [...new Set(options.collections ?? [DEFAULT_COLLECTION])];
    const found = await Promise.all(
      collections.map((collection) =>
        this.searchNamespace(collectionNamespace(this.options.namespace, collection), query, options.topK),
      ),
    );
    return found
      .flat()
      .sort((a, b) => b.rankedBy - a.rankedBy)
      .slice(0, options.topK)
      .map((found) => found.passage);
  }

  private async searchNamespace(namespace: string, query: string, topK: number): Promise<Ranked[]> {
    const shape = await this.shape();
    const scope = namespace ? { namespace } : {};
    const base = { data: query, topK, includeMetadata: true, includeData: true } as const;
    if (shape.kind === 'dense') {
      return (await this.call('query', () => this.index.query(base, scope))).map(ranked);
    }
    const settings = this.options.hybrid ?? DEFAULT_HYBRID;
    const weighting = sparseWeighting(settings, shape);
    if (shape.kind === 'sparse') {
      const results = await this.call('query', () => this.index.query({ ...base, ...weighting }, scope));
      return results.map(ranked);
    }
    if (settings.queryMode === 'dense') {
      const results = await this.call('query', () =>
        this.index.query({ ...base, queryMode: QueryMode.DENSE }, scope),
      );
      return results.map(ranked);
    }
    // Ranked as configured; scored by the dense part, in the same request.
    const [order = [], dense = []] = await this.call('query', () =>
      this.index.queryMany(
        [
          {
            ...base,
            queryMode: settings.queryMode === 'sparse' ? QueryMode.SPARSE : QueryMode.HYBRID,
            ...(settings.queryMode === 'hybrid'
              ? { fusionAlgorithm: settings.fusion === 'dbsf' ? FusionAlgorithm.DBSF : FusionAlgorithm.RRF }
              : {}),
            ...weighting,
          },
          { data: query, topK: topK * DENSE_DEPTH, queryMode: QueryMode.DENSE },
        ],
        scope,
      ),
    );
    const similarity = new Map(dense.map((result) => [String(result.id), result.score]));
    // A passage the dense part did not return scores at most the lowest one it did.
    const below = dense.length > 0 ? Math.min(...dense.map((result) => result.score)) : 0;
    return order.map((result) => ({
      passage: { ...toPassage(result), score: similarity.get(String(result.id)) ?? below },
      rankedBy: result.score,
    }));
  }

  async upsert(chunks: readonly Chunk[]): Promise<void> {
    for (let i = 0; i < chunks.length; i += UPSTASH_BATCH_LIMIT) {
      const batch = chunks.slice(i, i + UPSTASH_BATCH_LIMIT).map((chunk) => ({
        id: chunk.id,
        data: chunk.text,
        metadata: this.fittedMetadata(chunk),
      }));
      // Upserts are idempotent by id, so retrying one is safe.
      await this.call('upsert', () => this.index.upsert(batch, this.scope));
    }
  }

  /**
   * The chunk's metadata within Upstash's 48 KB per vector: its citation (source, title, URL)
   * always, then its other fields (a JSON record's, say) while they fit. A record with a huge
   * field would otherwise have its whole batch refused.
   */
  private fittedMetadata(chunk: Chunk): Metadata {
    const citation: Metadata = {
      source: chunk.source,
      ...(chunk.title ? { title: chunk.title.slice(0, CITATION_FIELD_CHARS) } : {}),
      ...(chunk.url && chunk.url.length <= CITATION_FIELD_CHARS ? { url: chunk.url } : {}),
    };
    // Where the passage sits (its path, section and document), which citations show, comes first.
    for (const key of PLACEMENT_FIELDS) {
      const value = chunk.metadata[key];
      if (typeof value === 'string') citation[key] = value.slice(0, CITATION_FIELD_CHARS);
      else if (value !== undefined && typeof value !== 'object') citation[key] = value;
    }
    const fitted: Metadata = {};
    let bytes = jsonBytes(citation);
    const dropped: string[] = [];
    for (const [key, value] of Object.entries(chunk.metadata)) {
      if (key in citation || value === undefined) continue;
      // One entry of a JSON object: "key":value plus its comma.
      const size = jsonBytes({ [key]: value }) - 1;
      if (bytes + size > METADATA_BUDGET_BYTES) dropped.push(key);
      else {
        fitted[key] = value;
        bytes += size;
      }
    }
    if (dropped.length > 0 && !this.reportedSources.has(chunk.source)) {
      if (this.reportedSources.size >= MAX_REPORTED_SOURCES) this.reportedSources.clear();
      this.reportedSources.add(chunk.source);
      this.log.warn(
        { source: chunk.source, dropped },
        'metadata fields left out of Upstash: over its 48 KB per passage',
      );
    }
    return { ...fitted, ...citation };
  }

  async delete(ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += UPSTASH_BATCH_LIMIT) {
      const batch = ids.slice(i, i + UPSTASH_BATCH_LIMIT);
      await this.call('delete', () => this.index.delete(batch, this.scope));
    }
  }

  async listIds(): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    // The REST API documents the cursor as a string, "0" for the first page.
    let cursor = '0';
    for (;;) {
      const page = await this.call('range', () =>
        this.index.range({ cursor, limit: RANGE_PAGE, includeMetadata: true }, this.scope),
      );
      for (const vector of page.vectors) {
        const source = (vector.metadata as Metadata | undefined)?.source;
        ids.set(String(vector.id), typeof source === 'string' ? source : '');
      }
      if (!page.nextCursor || page.nextCursor === cursor || page.vectors.length === 0) return ids;
      cursor = page.nextCursor;
    }
  }

  async reset(): Promise<void> {
    await this.call('reset', () => this.index.reset(this.scope));
  }

  async stats(): Promise<StoreStats> {
    const info = await this.call('info', () => this.index.info());
    const inNamespace = info.namespaces?.[this.namespace]?.vectorCount;
    const embeddingModel = info.denseIndex?.embeddingModel;
    return {
      vectorCount: inNamespace ?? (this.namespace ? 0 : info.vectorCount),
      dimension: info.dimension,
      ...(embeddingModel ? { embeddingModel } : {}),
    };
  }

  /** Runs one SDK call with bounded retries, turning every failure into a `RagError`. */
  private async call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await run();
      } catch (error) {
        const { retry, failure } = classify(error);
        if (!retry || attempt >= this.maxRetries) {
          this.log.warn(
            { operation, kind: failure.kind, reason: (error as Error).message },
            'Upstash call failed',
          );
          throw new RagError(failure, { cause: error });
        }
        const delay = 200 * 2 ** attempt * (0.75 + Math.random() * 0.5);
        this.log.warn(
          { operation, attempt: attempt + 1, retryInMs: Math.round(delay) },
          'retrying Upstash call',
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}

/** Upstash allows 48 KB of metadata per vector; a little is kept in hand. */
const METADATA_BUDGET_BYTES = 47 * 1024;
/** A title or URL longer than this is not a citation anyone reads (nor fits the budget). */
const CITATION_FIELD_CHARS = 4_000;
/** Metadata the citations read (core/sources.ts): kept before any other field. */
const PLACEMENT_FIELDS = ['location', 'section', 'document', 'attachment', 'pointedAt'] as const;
/** Sources whose left-out fields were reported: once each, not once per passage. */
const MAX_REPORTED_SOURCES = 1_000;

const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

/** The dense query that scores a hybrid query's passages looks this many times deeper. */
const DENSE_DEPTH = 3;

/** The sparse part's weighting: IDF for BM25-style models unless configured otherwise. */
function sparseWeighting(
  settings: HybridSettings,
  shape: IndexShape,
): { weightingStrategy?: WeightingStrategy } {
  const idf =
    settings.weighting === 'idf' || (settings.weighting === 'auto' && /bm25/i.test(shape.sparseModel ?? ''));
  return idf ? { weightingStrategy: WeightingStrategy.IDF } : {};
}

/** A passage, and the score the index ranked it by (the fused score, for a hybrid query). */
interface Ranked {
  readonly passage: Passage;
  readonly rankedBy: number;
}

function ranked(result: QueryResult<Metadata>): Ranked {
  return { passage: toPassage(result), rankedBy: result.score };
}

function toPassage(result: QueryResult<Metadata>): Passage {
  const { source, title, url, ...rest } = (result.metadata ?? {}) as Metadata;
  return {
    id: String(result.id),
    text: result.data ?? '',
    score: result.score,
    source: typeof source === 'string' ? source : String(result.id),
    ...(typeof title === 'string' ? { title } : {}),
    ...(typeof url === 'string' ? { url } : {}),
    metadata: rest,
  };
}

export interface UpstashCheck {
  readonly ok: boolean;
  readonly detail: string;
  readonly fix?: string;
}

/** For `npm run doctor`: reachable, authorised, with a built-in embedding model. */
export async function checkUpstash(options: UpstashStoreOptions): Promise<UpstashCheck> {
  const store = new UpstashStore({ ...options, maxRetries: 0 });
  try {
    const stats = await store.stats();
    const shape = await store.shape();
    const models = [shape.denseModel, shape.sparseModel].filter(Boolean);
    if (models.length === 0 || (shape.kind === 'hybrid' && models.length < 2)) {
      return {
        ok: false,
        detail: `reachable, ${stats.dimension ?? '?'} dimensions, but no built-in embedding model`,
        fix: 'create the index with an embedding model (e.g. BGE_SMALL_EN_V1_5, and BM25 for a hybrid index); this bot upserts and queries text',
      };
    }
    const empty = stats.vectorCount === 0 ? ' (empty: run npm run ingest -- <folder>)' : '';
    const hybrid = options.hybrid ?? DEFAULT_HYBRID;
    const how =
      shape.kind === 'hybrid'
        ? `hybrid index, models ${models.join(' + ')}, ranked ${hybrid.queryMode === 'hybrid' ? `by ${hybrid.fusion.toUpperCase()} fusion` : `by the ${hybrid.queryMode} part`}`
        : shape.kind === 'sparse'
          ? `sparse index, model ${models[0]} (no default relevance floor: set RAG_MIN_SCORE)`
          : `${stats.dimension} dimensions, model ${models[0]}`;
    return { ok: true, detail: `${stats.vectorCount} vectors${empty}, ${how}` };
  } catch (error) {
    const failure = error instanceof RagError ? error.failure : failures.unavailable(SERVICE);
    return {
      ok: false,
      detail: failure.kind === 'misconfigured' ? 'the token was rejected' : 'cannot reach the index',
      fix:
        failure.kind === 'misconfigured'
          ? 'copy the REST token from the Upstash console into UPSTASH_VECTOR_REST_TOKEN'
          : 'check UPSTASH_VECTOR_REST_URL and the network',
    };
  }
}
