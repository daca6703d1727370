/**
 * The fetch every source kind shares (src/knowledge/kinds/http.ts), against a loopback server:
 * which answers it waits out and asks again (529 with and without retry-after, a read's
 * server errors a bounded number of times, never a POST's), how redirects keep a request's
 * method and body, and requests spaced for a per-second limit, all on an injected clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceFetch } from '../../src/knowledge/kinds/http.js';
import { type LoopbackServer, sendJson, startLoopbackServer } from '../fakes/http-server.js';

/** Answers queued per path; each request is recorded with its method and body. */
const script = new Map<string, { status: number; headers?: Record<string, string> }[]>();
const seen: { method: string; path: string; body: string; at: number }[] = [];
let server: LoopbackServer;
let clock = 0;
const sleeps: number[] = [];

const client = (extra: Partial<Parameters<typeof sourceFetch>[0]> = {}) =>
  sourceFetch({
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    ...extra,
  });

beforeAll(async () => {
  server = await startLoopbackServer((req, res, body) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    seen.push({ method: req.method ?? 'GET', path, body, at: clock });
    const next = script.get(path)?.shift();
    if (next) {
      res.writeHead(next.status, { 'content-length': '0', ...next.headers });
      res.end();
      return;
    }
    sendJson(res, 200, { path, method: req.method, body });
  });
});
afterAll(() => server.close());
const reset = () => {
  script.clear();
  seen.length = 0;
  sleeps.length = 0;
};

describe('answers that ask to come back later', () => {
  it('waits out a 529 for its retry-after, else a second then two, on a POST too', async () => {
    reset();
    script.set('/a', [{ status: 529, headers: { 'retry-after': '7' } }, { status: 529 }, { status: 529 }]);
    const response = await client()(`${server.url}/a`, { method: 'POST', body: 'q' });
    expect(response.status).toBe(200);
    expect(sleeps).toEqual([7_000, 1_000, 2_000]);
    expect(seen.map((r) => `${r.method} ${r.body}`)).toEqual(['POST q', 'POST q', 'POST q', 'POST q']);
  });

  it('asks a read again after a 500, 502, 503 or 504 at most three times, and gives the last answer then', async () => {
    reset();
    script.set('/b', [{ status: 502 }, { status: 504 }, { status: 500 }]);
    expect((await client()(`${server.url}/b`)).status).toBe(200);
    expect(sleeps).toEqual([1_000, 2_000, 4_000]);
    reset();
    script.set('/c', [{ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }]);
    expect((await client()(`${server.url}/c`)).status).toBe(503);
    expect(seen).toHaveLength(4);
  });

  it('does not ask a POST again after a server error: it may not be a read, its kind decides', async () => {
    reset();
    script.set('/d', [{ status: 502 }]);
    expect((await client()(`${server.url}/d`, { method: 'POST', body: 'x' })).status).toBe(502);
    expect(seen).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('hands a wait to the caller’s `wait` (the sync’s budget), which may refuse it', async () => {
    reset();
    script.set('/e', [{ status: 529, headers: { 'retry-after': '3600' } }]);
    const asked: number[] = [];
    const refusing = client({
      wait: async (ms) => {
        asked.push(ms);
        throw new Error('out of time');
      },
    });
    await expect(refusing(`${server.url}/e`)).rejects.toThrow('out of time');
    expect(asked).toEqual([3_600_000]);
    expect(sleeps).toEqual([]);
  });
});

describe('redirects', () => {
  it('keep the method and body on 307, 308, 301 and 302 (as git does), and turn a 303 into a GET', async () => {
    for (const status of [307, 308, 301, 302]) {
      reset();
      script.set('/from', [{ status, headers: { location: '/to' } }]);
      const response = await client()(`${server.url}/from`, { method: 'POST', body: 'pack-request' });
      expect(await response.json()).toEqual({ path: '/to', method: 'POST', body: 'pack-request' });
      expect(response.url).toBe(`${server.url}/to`);
    }
    reset();
    script.set('/from', [{ status: 303, headers: { location: '/to' } }]);
    const response = await client()(`${server.url}/from`, { method: 'POST', body: 'form' });
    expect(await response.json()).toEqual({ path: '/to', method: 'GET', body: '' });
  });

  it('drops credentials on a redirect to another origin', async () => {
    reset();
    const other = await startLoopbackServer((req, res) =>
      sendJson(res, 200, { authorization: req.headers.authorization ?? null }),
    );
    try {
      script.set('/away', [{ status: 307, headers: { location: `${other.url}/x` } }]);
      const response = await client()(`${server.url}/away`, { headers: { authorization: 'Bearer t' } });
      expect(await response.json()).toEqual({ authorization: null });
    } finally {
      await other.close();
    }
  });
});

describe('a per-second limit', () => {
  it('spaces every attempt, a retried one too, so a retry never bunches up with the next request', async () => {
    reset();
    clock = 0;
    script.set('/p', [{ status: 529, headers: { 'retry-after': '2' } }]);
    const paced = client({ gapMs: 334 });
    await paced(`${server.url}/p`);
    await paced(`${server.url}/q`);
    await paced(`${server.url}/r`);
    const starts = seen.map((r) => r.at);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(334);
  });
});

describe('a body limit', () => {
  const answer =
    (body: ConstructorParameters<typeof Response>[0], init: ResponseInit): typeof fetch =>
    async () =>
      new Response(body, init);

  it('fails the read of a body past it, declared or streamed, and leaves smaller ones and a 304 alone', async () => {
    const big = client({ fetch: answer('x'.repeat(2_000), { status: 200 }), maxBodyBytes: 1_000 });
    await expect((await big(`${server.url}/big`)).text()).rejects.toThrow(/larger than 1 KB/);
    const declared = client({
      fetch: answer('x'.repeat(10), { status: 200, headers: { 'content-length': '5000' } }),
      maxBodyBytes: 1_000,
    });
    await expect((await declared(`${server.url}/declared`)).text()).rejects.toThrow(/larger than/);
    const small = await client({ maxBodyBytes: 1_000 })(`${server.url}/small`);
    expect(small.url).toBe(`${server.url}/small`);
    expect(await small.json()).toMatchObject({ path: '/small' });
    const notModified = await client({ fetch: answer(null, { status: 304 }), maxBodyBytes: 1_000 })(
      `${server.url}/same`,
    );
    expect(notModified.status).toBe(304);
  });
});
