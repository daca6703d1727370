/**
 * A loopback fake of the Upstash Vector REST API as @upstash/vector calls it: every command
 * is `POST /<command>[/<namespace>]` with a JSON body, answered with `{"result": …}` or
 * `{"error": …}`. Covers upsert-data, query-data, fetch, delete, range, reset, info and
 * list-namespaces, a bearer token check, a deterministic built-in "embedding model", the
 * 1,000-vectors-per-upsert limit, and faults: 401, 5xx, down (connection reset) and hang.
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

export interface FakeUpstashOptions {
  readonly token?: string;
  /** Latency added to every request (benchmarks). */
  readonly latencyMs?: number;
  readonly dimension?: number;
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

interface StoredVector {
  readonly id: string;
  readonly data: string;
  readonly metadata?: Record<string, unknown>;
  readonly vector: Float64Array;
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

/** Cosine similarity mapped to [0, 1] the way Upstash reports it: (1 + cos) / 2. */
function score(a: Float64Array, b: Float64Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += (a[i] ?? 0) * (b[i] ?? 0);
  return (1 + dot) / 2;
}

export async function startFakeUpstash(options: FakeUpstashOptions = {}): Promise<FakeUpstash> {
  const token = options.token ?? 'upstash-test-token-000000';
  const dimension = options.dimension ?? 256;
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
          });
        }
        return ok('Success');
      }
      case 'upsert':
        return bad(400, 'This index has an embedding model; upsert raw text with data instead of vectors');
      case 'query-data': {
        const q = body as { data: string; topK?: number; includeMetadata?: boolean; includeData?: boolean };
        const query = fakeEmbedding(q.data, dimension);
        const results = [...vectors.values()]
          .map((v) => ({ v, s: score(query, v.vector) }))
          .sort((a, b) => b.s - a.s)
          .slice(0, q.topK ?? 10)
          .map(({ v, s }) => ({
            id: v.id,
            score: s,
            ...(q.includeMetadata && v.metadata ? { metadata: v.metadata } : {}),
            ...(q.includeData ? { data: v.data } : {}),
          }));
        return ok(results);
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
          cursor?: string | number;
          limit: number;
          includeMetadata?: boolean;
          includeData?: boolean;
        };
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
          dimension,
          similarityFunction: 'COSINE',
          indexType: 'DENSE',
          denseIndex: { dimension, similarityFunction: 'COSINE', embeddingModel: EMBEDDING_MODEL },
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
