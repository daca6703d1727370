/**
 * A bare loopback web site for crawl tests that need pages of their own making: no robots.txt
 * or sitemap (both 404), each path answered with the HTML `page` returns for it (with an ETag),
 * 404 otherwise.
 */
import { createHash } from 'node:crypto';
import { type LoopbackServer, startLoopbackServer } from './http-server.js';

export interface PagesSite extends LoopbackServer {
  /** Paths answered with a page, in the order asked. */
  readonly served: string[];
}

export async function startPagesSite(page: (path: string) => string | undefined): Promise<PagesSite> {
  const served: string[] = [];
  const server = await startLoopbackServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = page(path);
    if (body === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    served.push(path);
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
    res.writeHead(200, { 'content-type': 'text/html', etag });
    res.end(body);
  });
  return Object.assign(server, { served });
}
