import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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
    await store({ namespace: 'bulk' }).upsert(chunks);
    const upserts = fake.requests.filter((r) => r.command === 'upsert-data');
    expect(upserts).toHaveLength(3);
    expect(fake.count('bulk')).toBe(2_500);
    expect((await store({ namespace: 'bulk' }).listIds()).size).toBe(2_500);
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
    expect(fake.requests).toHaveLength(2);
  });

  it('reports Upstash unavailable after bounded retries of 5xx', async () => {
    fake.failNext({ type: 'status', status: 500 }, 10);
    const error = await rejection(store({ maxRetries: 2 }).search('anything', { topK: 3 }));
    expect(error.failure?.kind).toBe('unavailable');
    expect(fake.requests).toHaveLength(3);
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
