/**
 * A small documentation site on the loopback, for the crawler: robots.txt (with a disallowed
 * folder, a Sitemap line and optionally a Crawl-delay), sitemap.xml, HTML pages with
 * navigation around a <main>, strong ETags and Last-Modified answered with 304 when the
 * client's validators match, and pages that can be changed, removed (404) or made to fail
 * (503) between crawls, and two old addresses that redirect (one within the site, one off it to
 * an internal address). A page can also stall halfway through its body, or be held (no answer)
 * until the test releases it. Every request is recorded.
 */
import { createHash } from 'node:crypto';
import { type LoopbackServer, startLoopbackServer } from '../http-server.js';

export interface DocsRequest {
  readonly path: string;
  readonly status: number;
  readonly conditional: boolean;
  readonly userAgent: string;
}

export interface FakeDocsSite {
  readonly url: string;
  readonly port: number;
  readonly requests: DocsRequest[];
  /** Page paths that were fetched in full (200), in order. */
  fetched(): string[];
  /** Sets a page's main text (an existing page changes, a new one appears, linked from the index). */
  setPage(path: string, title: string, body: string): void;
  /** The page answers 404 and is no longer linked or listed. */
  removePage(path: string): void;
  /** The page answers 503 until `restorePage`. */
  failPage(path: string): void;
  restorePage(path: string): void;
  setCrawlDelay(seconds: number | undefined): void;
  /** More robots.txt lines (e.g. a Sitemap line pointing off the site). */
  setExtraRobots(lines: string): void;
  /** The page sends its headers and half its body, then nothing more (the connection stays open). */
  stallPage(path: string): void;
  /**
   * The page's answer waits until `release()`; `requested` resolves when the crawler asks for it.
   * Nothing is sent meanwhile.
   */
  holdPage(path: string): { readonly requested: Promise<void>; release(): void };
  /** Serves `body` as it is at `path` (a hostile page, or sitemap.xml), ahead of everything else. */
  serveRaw(path: string, contentType: string, body: string): void;
  clearRequests(): void;
  close(): Promise<void>;
}

interface Page {
  title: string;
  body: string;
  lastModified: string;
}

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export async function startFakeDocsSite(): Promise<FakeDocsSite> {
  const pages = new Map<string, Page>();
  const failing = new Set<string>();
  const stalling = new Set<string>();
  const held = new Map<string, { arrived: () => void; gate: Promise<void> }>();
  const requests: DocsRequest[] = [];
  let crawlDelay: number | undefined;
  let extraRobots = '';
  const raw = new Map<string, { type: string; body: string }>();
  let clock = Date.UTC(2026, 0, 1);
  const stamp = () => {
    clock += 60_000;
    return new Date(clock).toUTCString();
  };

  const nav = () =>
    [...pages.keys()]
      .filter((path) => path !== '/docs/')
      .map((path) => `<li><a href="${path}">${escapeHtml(pages.get(path)!.title)}</a></li>`)
      .join('');
  const html = (path: string, page: Page) => `<!doctype html>
<html><head><title>${escapeHtml(page.title)}</title><script>window.tracking = "do not index me";</script></head>
<body>
<nav><ul>${nav()}<li><a href="/docs/private/secret.html">Private</a></li><li><a href="https://elsewhere.example/">Elsewhere</a></li></ul></nav>
<main><h1>${escapeHtml(page.title)}</h1>
${page.body}
${path === '/docs/' ? `<ul>${nav()}</ul><p>Older links: <a href="/docs/old-install.html">old install page</a>, <a href="/docs/moved-away.html">moved away</a>.</p>` : ''}
</main>
<footer>Copyright footer text that is not documentation</footer>
</body></html>`;
  const etagOf = (text: string) => `"${createHash('sha256').update(text).digest('hex').slice(0, 16)}"`;

  pages.set('/docs/', {
    title: 'Acme Docs',
    body: '<p>Welcome to the Acme documentation. Start with installing the widget.</p>',
    lastModified: stamp(),
  });
  pages.set('/docs/install.html', {
    title: 'Installing the widget',
    body: '<p>Install the Acme widget with the frobnicator tool: run <code>frob install widget</code> on the host.</p>',
    lastModified: stamp(),
  });
  pages.set('/docs/billing.html', {
    title: 'Billing',
    body: '<p>Invoices for the Acme widget are sent on the first Monday of each quarter.</p>',
    lastModified: stamp(),
  });

  let server: LoopbackServer;
  const record = (path: string, status: number, conditional: boolean, userAgent: string) =>
    requests.push({ path, status, conditional, userAgent });
  server = await startLoopbackServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const userAgent = String(req.headers['user-agent'] ?? '');
    const conditional = Boolean(req.headers['if-none-match'] || req.headers['if-modified-since']);
    const send = (status: number, type: string, body: string, headers: Record<string, string> = {}) => {
      record(path, status, conditional, userAgent);
      res.writeHead(status, { 'content-type': type, ...headers });
      res.end(body);
    };
    const served = raw.get(path);
    if (served) return send(200, served.type, served.body);
    if (path === '/robots.txt') {
      return send(
        200,
        'text/plain',
        `User-agent: *\nDisallow: /docs/private/\n${crawlDelay !== undefined ? `Crawl-delay: ${crawlDelay}\n` : ''}\nSitemap: ${server.url}/sitemap.xml\n${extraRobots}`,
      );
    }
    if (path === '/sitemap.xml') {
      const urls = [...pages.keys()].map((p) => `<url><loc>${server.url}${p}</loc></url>`).join('');
      return send(
        200,
        'application/xml',
        `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${urls}</urlset>`,
      );
    }
    // An old address redirecting within the site, and one redirecting off it (to an internal address).
    if (path === '/docs/old-install.html')
      return send(301, 'text/html', '', { location: '/docs/install.html' });
    if (path === '/docs/moved-away.html') {
      return send(302, 'text/html', '', { location: 'http://169.254.169.254/latest/meta-data/' });
    }
    if (path === '/docs/private/secret.html')
      return send(200, 'text/html', '<main>private: must never be crawled</main>');
    if (failing.has(path)) return send(503, 'text/plain', 'unavailable');
    const hold = held.get(path);
    if (hold) {
      held.delete(path);
      hold.arrived();
      return hold.gate.then(() => respond());
    }
    return respond();
    function respond() {
      const page = pages.get(path === '/docs' ? '/docs/' : path);
      if (!page) return send(404, 'text/html', '<h1>Not found</h1>');
      const body = html(path, page);
      const etag = etagOf(body);
      if (stalling.has(path)) {
        record(path, 200, conditional, userAgent);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.write(body.slice(0, body.length >> 1));
        return;
      }
      if (req.headers['if-none-match'] === etag) return send(304, 'text/html', '', { etag });
      return send(200, 'text/html; charset=utf-8', body, { etag, 'last-modified': page.lastModified });
    }
  });

  return {
    url: server.url,
    port: server.port,
    requests,
    fetched: () =>
      requests
        .filter(
          (r) => (r.status === 200 && r.path.endsWith('/')) || (r.status === 200 && r.path.endsWith('.html')),
        )
        .map((r) => r.path),
    setPage(path, title, body) {
      pages.set(path, { title, body: `<p>${escapeHtml(body)}</p>`, lastModified: stamp() });
    },
    removePage(path) {
      pages.delete(path);
    },
    failPage: (path) => void failing.add(path),
    restorePage: (path) => void failing.delete(path),
    setCrawlDelay(seconds) {
      crawlDelay = seconds;
    },
    setExtraRobots(lines) {
      extraRobots = lines;
    },
    stallPage: (path) => void stalling.add(path),
    holdPage(path) {
      let arrived!: () => void;
      let release!: () => void;
      const requested = new Promise<void>((resolve) => {
        arrived = resolve;
      });
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      held.set(path, { arrived, gate });
      return { requested, release };
    },
    serveRaw(path, type, body) {
      raw.set(path, { type, body });
    },
    clearRequests: () => void requests.splice(0),
    close: () => server.close(),
  };
}
