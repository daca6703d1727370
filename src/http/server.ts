/** A plain HTTP server for the operational routes when Slack's receiver is not serving them. */
import { createServer, type Server } from 'node:http';
import type { HttpRoute } from './types.js';

/**
 * How long a request (headers and body) may take to arrive, and its headers alone. Node's own
 * defaults (300 s, 60 s) let a client that sends a byte now and then hold a connection for
 * minutes; every route here takes a small body (the web chat's at most 128 KB).
 */
export const REQUEST_TIMEOUT_MS = 10_000;
export const HEADERS_TIMEOUT_MS = 5_000;

export interface HttpServerOptions {
  /** The address to listen on; every interface when absent (a server behind a load balancer). */
  readonly host?: string;
  /** Tests shorten it; the headers' timeout is never longer. */
  readonly requestTimeoutMs?: number;
}

export async function startHttpServer(
  port: number,
  routes: readonly HttpRoute[],
  options: HttpServerOptions = {},
): Promise<Server> {
  const { host } = options;
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const timeouts = {
    requestTimeout,
    headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeout),
    connectionsCheckingInterval: Math.min(1_000, requestTimeout),
  };
  const server = createServer(timeouts, (req, res) => {
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
