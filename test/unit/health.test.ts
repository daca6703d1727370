/**
 * /readyz as a load balancer reads it: ready only when every configured front end can take
 * questions, the store answers and the bot is not shutting down, whichever front ends run.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cachedProbe, type FrontEnd, healthRoutes } from '../../src/http/health.js';
import { startHttpServer } from '../../src/http/server.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const frontEnd = (name: string, ready: boolean): FrontEnd => ({ name, isReady: () => ready });

async function readiness(options: {
  frontEnds: FrontEnd[];
  store?: boolean;
  draining?: boolean;
}): Promise<{ status: number; body: Record<string, unknown> }> {
  const server = await startHttpServer(
    0,
    healthRoutes({
      frontEnds: () => options.frontEnds,
      draining: () => options.draining ?? false,
      storeReachable: async () => options.store ?? true,
    }),
  );
  servers.push(server);
  const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('/readyz', () => {
  it('is ready with the web chat alone, once it is served and the store answers', async () => {
    expect(await readiness({ frontEnds: [frontEnd('web', true)] })).toEqual({
      status: 200,
      body: { status: 'ready', draining: false, platforms: { web: true }, store: true },
    });
  });

  it('is not ready while the web chat is not served yet, or when the store does not answer', async () => {
    expect((await readiness({ frontEnds: [frontEnd('web', false)] })).status).toBe(503);
    const storeDown = await readiness({ frontEnds: [frontEnd('web', true)], store: false });
    expect(storeDown).toMatchObject({ status: 503, body: { status: 'not ready', store: false } });
  });

  it('needs every configured front end: the web chat beside a Discord that is not connected is not ready', async () => {
    const result = await readiness({ frontEnds: [frontEnd('web', true), frontEnd('discord', false)] });
    expect(result).toMatchObject({ status: 503, body: { platforms: { web: true, discord: false } } });
  });

  it('is ready with Slack, Discord and the web chat all ready, and not while draining', async () => {
    const all = [frontEnd('slack', true), frontEnd('discord', true), frontEnd('web', true)];
    expect((await readiness({ frontEnds: all })).status).toBe(200);
    expect(await readiness({ frontEnds: all, draining: true })).toMatchObject({
      status: 503,
      body: { draining: true },
    });
  });

  it('is not ready with no front end at all', async () => {
    expect((await readiness({ frontEnds: [] })).status).toBe(503);
  });
});

describe('cachedProbe', () => {
  it('reports a store that rejects as not answering, and one that resolves as answering', async () => {
    expect(await cachedProbe(() => Promise.reject(new Error('down')))()).toBe(false);
    expect(await cachedProbe(() => Promise.resolve({}))()).toBe(true);
  });
});
