/** A plain HTTP server for the operational routes when Slack's receiver is not serving them. */
import { createServer, type Server } from 'node:http';
import type { HttpRoute } from './types.js';

/** `host`: the address to listen on; every interface when absent (a server behind a load balancer). */
export async function startHttpServer(
  port: number,
  routes: readonly HttpRoute[],
  host?: string,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = routes.find((candidate) => candidate.path === path && candidate.method === req.method);
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
      return;
    }
    Promise.resolve(route.handler(req, res)).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('Internal error\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (host) server.listen(port, host, () => resolve());
    else server.listen(port, () => resolve());
  });
  return server;
}
