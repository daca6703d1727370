import { Index } from '@upstash/vector';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import type { Chunk } from '../../src/core/types.js';
import { checkUpstash, UpstashStore } from '../../src/stores/upstash.js';
import { type FakeUpstash, MAX_UPSERT_BATCH, startFakeUpstash } from '../fakes/upstash/index.js';
import { describeKnowledgeStoreContract } from './store-contract.js';

let fake: FakeUpstash;
let namespaceCounter = 0;
beforeAll(async () => {
  fake = await startFakeUpstash();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.clearFaults();
  fake.requests.length = 0;
});

const store = (overrides: Partial<ConstructorParameters<typeof UpstashStore>[0]> = {}) =>
  new UpstashStore({ url: fake.url, token: fake.token, namespace: '', timeoutMs: 1_000, ...overrides });

// Each contract test gets a fresh namespace, proving namespaces keep data apart too.
describeKnowledgeStoreContract('Upstash Vector (through @upstash/vector)', async () =>
  store({ namespace: `contract-${++namespaceCounter}` }),
);

const rejection = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return error as { failure?: { kind: string; message: string; variable?: string } };
  }
  throw new Error('expected a failure');
};

describe('Upstash Vector store', () => {
  it('keeps namespaces apart', async () => {
    await store({ namespace: 'team-a' }).upsert([
      { id: 'a', text: 'Team A runbook for deployments', source: 'a.md', metadata: {} },
    ]);
    expect(await store({ namespace: 'team-b' }).search('runbook deployments', { topK: 3 })).toEqual([]);
    expect(fake.requests.at(-1)?.command).toBe('query-data');
    expect(fake.requests.at(-1)?.namespace).toBe('team-b');
  });

  it(`splits large upserts into requests of at most ${MAX_UPSERT_BATCH} and stores every chunk`, async () => {
    const chunks: Chunk[] = Array.from({ length: 2_500 }, (_, i) => ({
      id: `bulk-${i}`,
      text: `Bulk passage number ${i} about topic ${i % 17}`,
      source: `bulk/${i % 10}.md`,
      metadata: {},
    }));
    // Not a test of timeouts: a loaded machine may take over the 1 s of the others to embed a
    // batch of 1,000 in the fake, and a retried batch would be counted twice.
    await store({ namespace: 'bulk', timeoutMs: 60_000 }).upsert(chunks);
    const upserts = fake.requests.filter((r) => r.command === 'upsert-data');
    expect(upserts).toHaveLength(3);
    expect(fake.count('bulk')).toBe(2_500);
    expect((await store({ namespace: 'bulk' }).listIds()).size).toBe(2_500);
  });

  it('keeps a passage whose record carries a field too big for Upstash metadata (48 KB), citation intact', async () => {
    const ingest = store({ namespace: 'big-metadata' });
    await ingest.upsert([
      {
        id: 'record-1',
        text: 'The quarterly flamingo census counts 212 birds.',
        source: 'census.json',
        title: 'Flamingo census',
        url: 'https://example.com/census',
        // The big fields come first, where the passage sits last (as the ingestion adds it).
        metadata: {
          raw: 'x'.repeat(60 * 1024),
          ...Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`notes${i}`, 'y'.repeat(4_000)])),
          // Fills what is left of the 48 KB but a few bytes.
          filler: 'z'.repeat(3_885),
          location: 'exports/census.json',
          section: 'Flamingos',
        },
      },
      { id: 'record-2', text: 'Another record about herons.', source: 'census.json', metadata: {} },
    ]);
    expect(fake.count('big-metadata')).toBe(2);
    const [found] = await ingest.search('flamingo census birds', { topK: 1 });
    expect(found).toMatchObject({
      source: 'census.json',
      title: 'Flamingo census',
      url: 'https://example.com/census',
      metadata: { location: 'exports/census.json', section: 'Flamingos' },
    });
    expect(found?.metadata).not.toHaveProperty('raw');
  });

  it('reports a rejected token as misconfiguration naming UPSTASH_VECTOR_REST_TOKEN, without retrying', async () => {
    const error = await rejection(store({ token: 'wrong-token' }).search('anything', { topK: 3 }));
    expect(error.failure?.kind).toBe('misconfigured');
    expect(error.failure?.message).toContain('UPSTASH_VECTOR_REST_TOKEN');
    expect(error.failure?.message).not.toContain('wrong-token');
    expect(fake.requests).toHaveLength(1);
  });

  it('retries a server error and succeeds when Upstash recovers', async () => {
    fake.failNext({ type: 'status', status: 503 });
    const results = await store().search('anything', { topK: 3 });
    expect(Array.isArray(results)).toBe(true);
    // The index type is asked once (the failed request and its retry), then the query.
    expect(fake.requests.map((request) => request.command)).toEqual(['info', 'info', 'query-data']);
  });

  it('reports Upstash unavailable after bounded retries of 5xx', async () => {
    fake.failNext({ type: 'status', status: 500 }, 10);
    const error = await rejection(store({ maxRetries: 2 }).search('anything', { topK: 3 }));
    expect(error.failure?.kind).toBe('unavailable');
    expect(fake.requests).toHaveLength(3);
  });

  it('says the daily request limit is used up, without retrying, rather than "refused the request"', async () => {
    fake.failNext(
      {
        type: 'status',
        status: 429,
        error: 'ERR max daily request limit exceeded. Limit: 10000, Usage: 10000.',
      },
      10,
    );
    const error = await rejection(store({ maxRetries: 2 }).search('anything', { topK: 3 }));
    expect(error.failure?.kind).toBe('rate_limited');
    expect(error.failure?.message).toContain('daily allowance of Upstash Vector requests');
    expect(error.failure?.message).not.toContain('ERR');
    expect(fake.requests).toHaveLength(1);
  });

  it('retries a 429 rate limit and reports it as a rate limit, not a refused request, if it lasts', async () => {
    fake.failNext({ type: 'status', status: 429, error: 'ERR max requests limit exceeded. Limit: 1000' }, 10);
    const error = await rejection(store({ maxRetries: 1 }).search('anything', { topK: 3 }));
    expect(error.failure?.kind).toBe('rate_limited');
    expect(error.failure?.message).toContain('Upstash Vector rate limit');
    expect(fake.requests).toHaveLength(2);
  });

  it('reports Upstash unavailable when the connection drops', async () => {
    fake.failNext({ type: 'down' }, 10);
    const error = await rejection(store({ maxRetries: 1 }).search('anything', { topK: 3 }));
    expect(error.failure?.kind).toBe('unavailable');
  });

  it('gives up on a hung request after its timeout and one retry, instead of hanging', async () => {
    fake.failNext({ type: 'hang' }, 10);
    const error = await rejection(store({ timeoutMs: 200, maxRetries: 1 }).search('anything', { topK: 3 }));
    expect(error.failure?.kind).toBe('unavailable');
    // Each attempt was abandoned in turn: the first and its one retry, no more.
    expect(fake.requests).toHaveLength(2);
  });

  it('is unreachable on a closed port with a clear failure', async () => {
    const error = await rejection(
      new UpstashStore({ url: 'http://127.0.0.1:9', token: 't', namespace: '', maxRetries: 0 }).search('x', {
        topK: 1,
      }),
    );
    expect(error.failure?.kind).toBe('unavailable');
    expect(error.failure?.message).toContain('Upstash Vector is unavailable');
  });
});

describe('doctor check for Upstash', () => {
  it('reports vector count, dimension and the embedding model', async () => {
    const result = await checkUpstash({ url: fake.url, token: fake.token, namespace: '' });
    expect(result.ok).toBe(true);
    expect(result.detail).toMatch(/256 dimensions, model FAKE-BOW-256/);
  });

  it('explains a rejected token with the fix', async () => {
    const result = await checkUpstash({ url: fake.url, token: 'nope', namespace: '' });
    expect(result.ok).toBe(false);
    expect(result.fix).toContain('UPSTASH_VECTOR_REST_TOKEN');
  });
});

describe('Upstash hybrid indexes', () => {
  let hybrid: FakeUpstash;
  beforeAll(async () => {
    hybrid = await startFakeUpstash({ indexType: 'HYBRID' });
    // "zebra" is in one passage only, "office" in two: the sparse part with IDF puts the zebra
    // passage first, the dense part the short office one.
    await hybridStore().upsert(
      [
        ['zebra', 'The zebra canteen serves lunch to visitors and staff on weekdays from noon until two.'],
        ['office', 'Office.'],
        ['desk', 'Office desk.'],
      ].map(([id, text]) => ({ id: id!, text: text!, source: `${id}.md`, metadata: { kind: 'note' } })),
    );
  });
  afterAll(() => hybrid.close());
  beforeEach(() => {
    hybrid.requests.length = 0;
  });

  function hybridStore(
    settings: Partial<{
      fusion: 'rrf' | 'dbsf';
      queryMode: 'hybrid' | 'dense' | 'sparse';
      weighting: 'auto' | 'idf' | 'none';
    }> = {},
  ) {
    return new UpstashStore({
      url: hybrid.url,
      token: hybrid.token,
      namespace: 'h',
      timeoutMs: 1_000,
      hybrid: { fusion: 'rrf', queryMode: 'hybrid', weighting: 'auto', ...settings },
    });
  }

  const lastQueries = () =>
    hybrid.requests.filter((r) => r.command === 'query-data').at(-1)?.body as Record<string, unknown>[];

  it('detects the index type once and ranks by both parts fused, weighting the sparse part by IDF for the BM25 model', async () => {
    const store = hybridStore();
    const found = await store.search('zebra office', { topK: 3 });
    await store.search('zebra office', { topK: 3 });
    expect(hybrid.requests.filter((r) => r.command === 'info')).toHaveLength(1);
    const [ranking, scoring] = lastQueries();
    expect(ranking).toMatchObject({
      data: 'zebra office',
      topK: 3,
      queryMode: 'HYBRID',
      fusionAlgorithm: 'RRF',
      weightingStrategy: 'IDF',
    });
    expect(scoring).toMatchObject({ data: 'zebra office', queryMode: 'DENSE' });
    // The order is the index's fused order for that query.
    const index = new Index({ url: hybrid.url, token: hybrid.token });
    const fused = await index.query(
      {
        data: 'zebra office',
        topK: 3,
        queryMode: 'HYBRID' as never,
        fusionAlgorithm: 'RRF' as never,
        weightingStrategy: 'IDF' as never,
      },
      { namespace: 'h' },
    );
    expect(found.map((p) => p.id)).toEqual(fused.map((r) => String(r.id)));
    expect(found[0]).toMatchObject({ source: expect.stringMatching(/\.md$/), metadata: { kind: 'note' } });
  });

  it('scores each passage by its dense similarity, which the relevance floor can judge', async () => {
    const found = await hybridStore().search('zebra office', { topK: 3 });
    const dense = await hybridStore({ queryMode: 'dense' }).search('zebra office', { topK: 3 });
    const similarity = new Map(dense.map((p) => [p.id, p.score]));
    for (const passage of found) expect(passage.score).toBe(similarity.get(passage.id));
    expect(hybridStore().defaultMinScore).toBe(0.7);
  });

  it('follows the configured query mode and fusion', async () => {
    const sparse = await hybridStore({ queryMode: 'sparse' }).search('zebra office', { topK: 3 });
    expect(lastQueries()[0]).toMatchObject({ queryMode: 'SPARSE', weightingStrategy: 'IDF' });
    expect(lastQueries()[0]).not.toHaveProperty('fusionAlgorithm');
    const dense = await hybridStore({ queryMode: 'dense' }).search('zebra office', { topK: 3 });
    expect(hybrid.requests.at(-1)?.body).toMatchObject({ queryMode: 'DENSE' });
    // Rare words lead the sparse part, overlap the dense part.
    expect(sparse[0]?.id).toBe('zebra');
    expect(dense[0]?.id).toBe('office');
    await hybridStore({ fusion: 'dbsf', weighting: 'none' }).search('zebra office', { topK: 3 });
    expect(lastQueries()[0]).toMatchObject({ queryMode: 'HYBRID', fusionAlgorithm: 'DBSF' });
    expect(lastQueries()[0]).not.toHaveProperty('weightingStrategy');
  });

  it('upserts text once: the index embeds both parts with its own models', async () => {
    await hybridStore().upsert([
      { id: 'new', text: 'A new passage about zebras.', source: 'new.md', metadata: {} },
    ]);
    const upsert = hybrid.requests.find((r) => r.command === 'upsert-data');
    expect(upsert?.body).toEqual([
      expect.objectContaining({ id: 'new', data: 'A new passage about zebras.' }),
    ]);
    expect(JSON.stringify(upsert?.body)).not.toMatch(/sparseVector|"vector"/);
  });

  it('says in the doctor check that the index is hybrid, with both models and the fusion', async () => {
    const result = await checkUpstash({
      url: hybrid.url,
      token: hybrid.token,
      namespace: 'h',
      hybrid: { fusion: 'dbsf', queryMode: 'hybrid', weighting: 'auto' },
    });
    expect(result).toMatchObject({ ok: true });
    expect(result.detail).toMatch(/hybrid index, models FAKE-BOW-256 \+ BM25, ranked by DBSF fusion/);
  });

  it('takes the fusion, query mode and weighting from the configuration, refusing other values', () => {
    const env = { UPSTASH_VECTOR_REST_URL: 'https://x.upstash.io', UPSTASH_VECTOR_REST_TOKEN: 't' };
    // The defaults are left out of the configuration: the store applies them.
    expect(parseConfig({ ...env }).upstash).not.toHaveProperty('hybrid');
    expect(
      parseConfig({
        ...env,
        UPSTASH_VECTOR_FUSION: 'DBSF',
        UPSTASH_VECTOR_QUERY_MODE: 'sparse',
        UPSTASH_VECTOR_SPARSE_WEIGHTING: 'none',
      }).upstash?.hybrid,
    ).toEqual({ fusion: 'dbsf', queryMode: 'sparse', weighting: 'none' });
    expect(() => parseConfig({ ...env, UPSTASH_VECTOR_FUSION: 'average' })).toThrow(
      /UPSTASH_VECTOR_FUSION.*must be rrf or dbsf/,
    );
  });
});

describe('Upstash sparse indexes', () => {
  it('query with IDF weighting and assume no relevance floor (their scores are unbounded)', async () => {
    const sparse = await startFakeUpstash({ indexType: 'SPARSE' });
    try {
      const store = new UpstashStore({ url: sparse.url, token: sparse.token, namespace: '' });
      await store.upsert([{ id: 'a', text: 'Zebra canteen hours', source: 'a.md', metadata: {} }]);
      const found = await store.search('zebra', { topK: 3 });
      expect(found.map((p) => p.id)).toEqual(['a']);
      expect(sparse.requests.at(-1)?.body).toMatchObject({ data: 'zebra', weightingStrategy: 'IDF' });
      expect(sparse.requests.at(-1)?.body).not.toHaveProperty('queryMode');
      expect(store.defaultMinScore).toBe(0);
    } finally {
      await sparse.close();
    }
  });
});
