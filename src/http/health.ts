/** Liveness and readiness for load balancers and orchestrators. */
import type { HttpRoute, PlatformAdapter } from '../platforms/types.js';

function json(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    .end(JSON.stringify(body));
}

export function healthRoutes(
  adapters: () => readonly PlatformAdapter[],
  isDraining: () => boolean,
): HttpRoute[] {
  return [
    {
      path: '/healthz',
      method: 'GET',
      handler: (_req, res) => json(res, 200, { status: 'ok' }),
    },
    {
      path: '/readyz',
      method: 'GET',
      handler: (_req, res) => {
        const platforms = Object.fromEntries(adapters().map((adapter) => [adapter.name, adapter.isReady()]));
        const ready =
          !isDraining() && Object.values(platforms).length > 0 && Object.values(platforms).every(Boolean);
        json(res, ready ? 200 : 503, {
          status: ready ? 'ready' : 'not ready',
          draining: isDraining(),
          platforms,
        });
      },
    },
  ];
}
