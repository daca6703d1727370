/** Liveness and readiness for load balancers and orchestrators. */
import type { ServerResponse } from 'node:http';
import type { PlatformAdapter } from '../platforms/types.js';
import type { HttpRoute } from './types.js';

function json(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    .end(JSON.stringify(body));
}

/**
 * Wraps a dependency probe so readiness checks stay cheap: one probe at a time, its result
 * reused for `ttlMs`, and a probe that hangs counts as a failure after `timeoutMs`.
 */
export function cachedProbe(
  probe: () => Promise<unknown>,
  ttlMs = 15_000,
  timeoutMs = 2_000,
): () => Promise<boolean> {
  let last: { at: number; ok: boolean } | undefined;
  let running: Promise<boolean> | undefined;
  return () => {
    if (last && Date.now() - last.at < ttlMs) return Promise.resolve(last.ok);
    running ??= Promise.race([
      probe().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref()),
    ]).then((ok) => {
      last = { at: Date.now(), ok };
      running = undefined;
      return ok;
    });
    return running;
  };
}

export interface HealthSources {
  readonly adapters: () => readonly PlatformAdapter[];
  readonly draining: () => boolean;
  /** Whether the knowledge store answers. */
  readonly storeReachable: () => Promise<boolean>;
}

export function healthRoutes(sources: HealthSources): HttpRoute[] {
  return [
    {
      path: '/healthz',
      method: 'GET',
      handler: (_req, res) => json(res, 200, { status: 'ok' }),
    },
    {
      path: '/readyz',
      method: 'GET',
      handler: async (_req, res) => {
        const platforms = Object.fromEntries(
          sources.adapters().map((adapter) => [adapter.name, adapter.isReady()]),
        );
        const store = await sources.storeReachable();
        const draining = sources.draining();
        const connected = Object.values(platforms).length > 0 && Object.values(platforms).every(Boolean);
        const ready = !draining && connected && store;
        json(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', draining, platforms, store });
      },
    },
  ];
}
