/**
 * A loopback fake of the Upstash Vector REST API as @upstash/vector calls it: every command
 * is `POST /<command>[/<namespace>]` with a JSON body, answered with `{"result": …}` or
 * `{"error": …}`. Covers upsert-data, query-data (one query or a batch), fetch, delete, range,
 * reset, info and list-namespaces, a bearer token check, deterministic built-in "embedding
 * models", the 1,000-vectors-per-upsert limit, and faults: 401, 5xx, down (connection reset)
 * and hang.
 *
 * The index is dense (the default), sparse or hybrid, as `info` reports in `indexType`. A
 * sparse part is a BM25-style bag of words (term frequency, saturated) scored by dot product,
 * optionally weighted by IDF (`weightingStrategy`); a hybrid query runs the part its
 * `queryMode` names, or both fused by `fusionAlgorithm`: RRF (each part's rank r scores
 * 1 / (r + 60)) or DBSF (each part's scores scaled between mean ± 3 standard deviations),
 * summed per vector, the way Upstash documents them.
 */
import { createHash } from 'node:crypto';
import { type LoopbackServer, sendJson, sleep, startLoopbackServer } from '../http-server.js';

export interface RecordedUpstashRequest {
  readonly command: string;
  readonly namespace: string;
  readonly body: unknown;
  readonly at: number;
}

export type UpstashFault =
  | { readonly type: 'status'; readonly status: number; readonly error?: string }
  | { readonly type: 'down' }
  | { readonly type: 'hang' };

export type FakeIndexType = 'DENSE' | 'SPARSE' | 'HYBRID';

export interface FakeUpstashOptions {
  readonly token?: string;
  /** Latency added to every request (benchmarks). */
  readonly latencyMs?: number;
  readonly dimension?: number;
  /** DENSE (default), SPARSE or HYBRID. */
  readonly indexType?: FakeIndexType;
}

export interface FakeUpstash {
  readonly url: string;
  readonly token: string;
  readonly requests: RecordedUpstashRequest[];
  /** Injects `fault` into the next `times` requests. */
  failNext(fault: UpstashFault, times?: number): void;
  /**
   * The next `count` requests of `command` (e.g. "info") are answered together, once the last
   * has arrived: callers racing through the same request resume side by side.
   */
  gate(command: string, count: number): void;
  clearFaults(): void;
  /** Vectors stored in a namespace ('' is the default one). */
  count(namespace?: string): number;
  close(): Promise<void>;
}

/** Upstash's documented limit on vectors per upsert request. */
export const MAX_UPSERT_BATCH = 1_000;
const MAX_RANGE_LIMIT = 1_000;
const MAX_METADATA_BYTES = 48 * 1024;
const EMBEDDING_MODEL = 'FAKE-BOW-256';
const SPARSE_MODEL = 'BM25';
/** RRF's constant, as Upstash documents it. */
const RRF_K = 60;

interface StoredVector {
  readonly id: string;
  readonly data: string;
  readonly metadata?: Record<string, unknown>;
  readonly vector: Float64Array;
  /** Sparse part: term id → weight. */
  readonly sparse: Map<number, number>;
}

const STOPWORDS = new Set(
  'a an and are as at be by do for from how i in is it of on or the to what with you your'.split(' '),
);

/** Bag of content words hashed into `dimension` buckets, L2-normalised: shared words → similar vectors. */
export function fakeEmbedding(text: string, dimension: number): Float64Array {
  const vector = new Float64Array(dimension);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (STOPWORDS.has(word)) continue;
    const bucket = createHash('md5').update(word.replace(/s$/, '')).digest().readUInt32BE(0) % dimension;
    vector[bucket] = (vector[bucket] ?? 0) + 1;
  }
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm) || 1;
  return vector.map((value) => value / norm);
}

/** Content words, as the dense model sees them. */
function words(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])
    .filter((word) => !STOPWORDS.has(word))
    .map((word) => word.replace(/s$/, ''));
}

/** The sparse "BM25" model: each word's hashed id, weighted by its saturated term frequency. */
export function fakeSparse(text: string): Map<number, number> {
  const counts = new Map<number, number>();
  for (const word of words(text)) {
    const id = createHash('md5').update(word).digest().readUInt32BE(0) % 2 ** 31;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const k1 = 1.2;
  return new Map([...counts].map(([id, tf]) => [id, (tf * (k1 + 1)) / (tf + k1)]));
}

/** Cosine similarity mapped to [0, 1] the way Upstash reports it: (1 + cos) / 2. */
function score(a: Float64Array, b: Float64Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += (a[i] ?? 0) * (b[i] ?? 0);
  return (1 + dot) / 2;
}

export async function startFakeUpstash(options: FakeUpstashOptions = {}): Promise<FakeUpstash> {
  const token = options.token ?? 'upstash-test-token-000000';
  const dimension = options.dimension ?? 256;
  const indexType = options.indexType ?? 'DENSE';
  const namespaces = new Map<string, Map<string, StoredVector>>([['', new Map()]]);
  const requests: RecordedUpstashRequest[] = [];
  const faults: UpstashFault[] = [];
  const space = (name: string) => {
    let found = namespaces.get(name);
    if (!found) {
      found = new Map();
      namespaces.set(name, found);
    }
    return found;
  };

  type Result = { status: number; body: { result?: unknown; error?: string } };
  const ok = (result: unknown): Result => ({ status: 200, body: { result } });
  const bad = (status: number, error: string): Result => ({
    status,
    body: { error, status } as { error: string },
  });

  function execute(command: string, namespace: string, body: unknown): Result {
    const vectors = space(namespace);
    switch (command) {
      case 'upsert-data': {
        const items = (Array.isArray(body) ? body : [body]) as {
          id?: unknown;
          data?: unknown;
          metadata?: unknown;
        }[];
        if (items.length > MAX_UPSERT_BATCH) {
          return bad(400, `Exceeded max batch size: ${items.length} > ${MAX_UPSERT_BATCH}`);
        }
        for (const item of items) {
          if (typeof item.data !== 'string' || !item.data) return bad(400, 'Data must be a non-empty string');
          if (item.metadata && Buffer.byteLength(JSON.stringify(item.metadata)) > MAX_METADATA_BYTES) {
            return bad(400, 'Metadata size exceeds the limit of 48KB');
          }
        }
        for (const item of items) {
          const id = String(item.id);
          vectors.set(id, {
            id,
            data: item.data as string,
            ...(item.metadata ? { metadata: item.metadata as Record<string, unknown> } : {}),
            vector: fakeEmbedding(item.data as string, dimension),
            sparse: fakeSparse(item.data as string),
          });
        }
        return ok('Success');
      }
      case 'upsert':
        return bad(400, 'This index has an embedding model; upsert raw text with data instead of vectors');
      case 'query-data': {
        // A batch (queryMany) is an array of queries answered with an array of result lists.
        const queries = (Array.isArray(body) ? body : [body]) as DataQuery[];
        const answered: unknown[] = [];
        for (const query of queries) {
          const result = runQuery(vectors, query);
          if ('error' in result) return bad(400, result.error);
          answered.push(result.results);
        }
        return ok(Array.isArray(body) ? answered : answered[0]);
      }
      case 'fetch': {
        const f = body as { ids: string[]; includeMetadata?: boolean; includeData?: boolean };
        return ok(
          f.ids.map((id) => {
            const v = vectors.get(String(id));
            if (!v) return null;
            return {
              id: v.id,
              ...(f.includeMetadata && v.metadata ? { metadata: v.metadata } : {}),
              ...(f.includeData ? { data: v.data } : {}),
            };
          }),
        );
      }
      case 'delete': {
        const ids = (body as { ids: string[] }).ids ?? [];
        let deleted = 0;
        for (const id of ids) if (vectors.delete(String(id))) deleted += 1;
        return ok({ deleted });
      }
      case 'range': {
        const r = body as {
          cursor?: unknown;
          limit: number;
          includeMetadata?: boolean;
          includeData?: boolean;
        };
        // Documented as a string ("0" for the first page); a number is refused.
        if (typeof r.cursor !== 'string') return bad(400, 'cursor must be a string');
        if (r.limit > MAX_RANGE_LIMIT) return bad(400, `Range limit cannot exceed ${MAX_RANGE_LIMIT}`);
        const all = [...vectors.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        const start = Number(r.cursor || 0);
        const page = all.slice(start, start + r.limit);
        const next = start + page.length;
        return ok({
          nextCursor: next < all.length ? String(next) : '',
          vectors: page.map((v) => ({
            id: v.id,
            ...(r.includeMetadata && v.metadata ? { metadata: v.metadata } : {}),
            ...(r.includeData ? { data: v.data } : {}),
          })),
        });
      }
      case 'reset':
        vectors.clear();
        return ok('Success');
      case 'info': {
        const all = [...namespaces.entries()];
        return ok({
          vectorCount: all.reduce((n, [, v]) => n + v.size, 0),
          pendingVectorCount: 0,
          indexSize: all.reduce((n, [, v]) => n + v.size * dimension * 4, 0),
          dimension: indexType === 'SPARSE' ? 0 : dimension,
          similarityFunction: 'COSINE',
          indexType,
          ...(indexType !== 'SPARSE'
            ? { denseIndex: { dimension, similarityFunction: 'COSINE', embeddingModel: EMBEDDING_MODEL } }
            : {}),
          ...(indexType !== 'DENSE' ? { sparseIndex: { embeddingModel: SPARSE_MODEL } } : {}),
          namespaces: Object.fromEntries(
            all.map(([name, v]) => [name, { vectorCount: v.size, pendingVectorCount: 0 }]),
          ),
        });
      }
      case 'list-namespaces':
        return ok([...namespaces.keys()]);
      default:
        return bad(404, `Unknown command: ${command}`);
    }
  }

  const gates = new Map<string, { left: number; open: Promise<void>; release: () => void }>();
  interface DataQuery {
    readonly data: string;
    readonly topK?: number;
    readonly includeMetadata?: boolean;
    readonly includeData?: boolean;
    readonly queryMode?: string;
    readonly fusionAlgorithm?: string;
    readonly weightingStrategy?: string;
  }

  type Ranked = { readonly v: StoredVector; readonly s: number }[];

  function denseRanking(vectors: Map<string, StoredVector>, text: string): Ranked {
    const query = fakeEmbedding(text, dimension);
    return [...vectors.values()].map((v) => ({ v, s: score(query, v.vector) })).sort((a, b) => b.s - a.s);
  }

  /** Dot product with the query's words (weight 1 each), IDF-weighted when asked. */
  function sparseRanking(vectors: Map<string, StoredVector>, text: string, idf: boolean): Ranked {
    const query = fakeSparse(text);
    const n = vectors.size;
    const holding = (id: number) => [...vectors.values()].filter((v) => v.sparse.has(id)).length;
    const weight = new Map(
      [...query.keys()].map((id) => {
        const df = holding(id);
        return [id, idf ? Math.log((n - df + 0.5) / (df + 0.5) + 1) : 1];
      }),
    );
    return [...vectors.values()]
      .map((v) => ({
        v,
        s: [...query.keys()].reduce((sum, id) => sum + (v.sparse.get(id) ?? 0) * (weight.get(id) ?? 0), 0),
      }))
      .filter((entry) => entry.s > 0)
      .sort((a, b) => b.s - a.s);
  }

  /** RRF or DBSF over the two parts' top results, as Upstash documents them. */
  function fuse(parts: readonly Ranked[], algorithm: string, topK: number): Ranked {
    const fused = new Map<string, { v: StoredVector; s: number }>();
    for (const part of parts) {
      const top = part.slice(0, topK);
      const mean = top.reduce((sum, e) => sum + e.s, 0) / Math.max(1, top.length);
      const sd = Math.sqrt(top.reduce((sum, e) => sum + (e.s - mean) ** 2, 0) / Math.max(1, top.length));
      const low = mean - 3 * sd;
      const high = mean + 3 * sd;
      top.forEach((entry, rank) => {
        const mapped =
          algorithm === 'DBSF' ? (high > low ? (entry.s - low) / (high - low) : 1) : 1 / (rank + 1 + RRF_K);
        const current = fused.get(entry.v.id);
        fused.set(entry.v.id, { v: entry.v, s: (current?.s ?? 0) + mapped });
      });
    }
    return [...fused.values()].sort((a, b) => b.s - a.s);
  }

  function runQuery(
    vectors: Map<string, StoredVector>,
    q: DataQuery,
  ): { results: unknown[] } | { error: string } {
    if (typeof q.data !== 'string' || !q.data) return { error: 'Data must be a non-empty string' };
    const topK = q.topK ?? 10;
    const mode = q.queryMode ?? 'HYBRID';
    if (indexType !== 'HYBRID' && (q.queryMode !== undefined || q.fusionAlgorithm !== undefined)) {
      return { error: 'queryMode and fusionAlgorithm can only be used with hybrid indexes' };
    }
    if (indexType === 'DENSE' && q.weightingStrategy !== undefined) {
      return { error: 'weightingStrategy can only be used with sparse or hybrid indexes' };
    }
    if (!['HYBRID', 'DENSE', 'SPARSE'].includes(mode)) return { error: `Invalid query mode: ${mode}` };
    if (q.fusionAlgorithm !== undefined && !['RRF', 'DBSF'].includes(q.fusionAlgorithm)) {
      return { error: `Invalid fusion algorithm: ${q.fusionAlgorithm}` };
    }
    const idf = q.weightingStrategy === 'IDF';
    const ranked =
      indexType === 'DENSE' || (indexType === 'HYBRID' && mode === 'DENSE')
        ? denseRanking(vectors, q.data)
        : indexType === 'SPARSE' || mode === 'SPARSE'
          ? sparseRanking(vectors, q.data, idf)
          : fuse(
              [denseRanking(vectors, q.data), sparseRanking(vectors, q.data, idf)],
              q.fusionAlgorithm ?? 'RRF',
              topK,
            );
    return {
      results: ranked.slice(0, topK).map(({ v, s }) => ({
        id: v.id,
        score: s,
        ...(q.includeMetadata && v.metadata ? { metadata: v.metadata } : {}),
        ...(q.includeData ? { data: v.data } : {}),
      })),
    };
  }

  const server: LoopbackServer = await startLoopbackServer(async (req, res, raw) => {
    const [command = '', ...rest] = (req.url ?? '').split('?')[0]!.replace(/^\//, '').split('/');
    const namespace = decodeURIComponent(rest.join('/'));
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      sendJson(res, 400, { error: 'Invalid JSON body', status: 400 });
      return;
    }
    requests.push({ command, namespace, body, at: Date.now() });
    if (options.latencyMs) await sleep(options.latencyMs);
    const gate = gates.get(command);
    if (gate) {
      gate.left -= 1;
      if (gate.left === 0) {
        gates.delete(command);
        gate.release();
      }
      await gate.open;
    }

    const fault = faults.shift();
    if (fault?.type === 'hang') return;
    if (fault?.type === 'down') {
      req.socket.destroy();
      return;
    }
    if (fault?.type === 'status') {
      sendJson(res, fault.status, { error: fault.error ?? 'Service Unavailable', status: fault.status });
      return;
    }
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: 'Method Not Allowed', status: 405 });
      return;
    }
    if (req.headers.authorization !== `Bearer ${token}`) {
      sendJson(res, 401, { error: 'Unauthorized: Invalid auth token', status: 401 });
      return;
    }
    const result = execute(command, namespace, body);
    sendJson(res, result.status, result.body);
  });

  return {
    url: server.url,
    token,
    requests,
    gate(command, count) {
      let release!: () => void;
      const open = new Promise<void>((resolve) => {
        release = resolve;
      });
      gates.set(command, { left: count, open, release });
    },
    failNext(fault, times = 1) {
      for (let i = 0; i < times; i++) faults.push(fault);
    },
    clearFaults() {
      faults.length = 0;
    },
    count: (namespace = '') => namespaces.get(namespace)?.size ?? 0,
    close: () => server.close(),
  };
}
