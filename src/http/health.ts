/**
 * Liveness and readiness for load balancers and orchestrators. Live: the process answers HTTP.
 * Ready: not shutting down, every configured front end (each chat platform, the web chat) can
 * take questions, and the knowledge store answers.
 */
import type { ServerResponse } from 'node:http';
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

/** Anything that takes questions: a chat platform's adapter, or the web chat. */
export interface FrontEnd {
  readonly name: string;
  /** True while it can receive questions (connected, or its routes are being served). */
  isReady(): boolean;
}

export interface HealthSources {
  /** The configured front ends; none ready (or none at all) means not ready. */
  readonly frontEnds: () => readonly FrontEnd[];
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
          sources.frontEnds().map((frontEnd) => [frontEnd.name, frontEnd.isReady()]),
        );
        const store = await sources.storeReachable();
        const draining = sources.draining();
        const states = Object.values(platforms);
        const connected = states.length > 0 && states.every(Boolean);
        const ready = !draining && connected && store;
        json(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', draining, platforms, store });
      },
    },
  ];
}
