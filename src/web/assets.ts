/**
 * The page, its scripts and styles, and markdown-it's browser build, all read once at start-up
 * and served from this origin: the page loads nothing from anywhere else.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { WebChatLimits } from './options.js';

export interface Asset {
  readonly body: Buffer;
  /** The body compressed once at start-up, for browsers that accept gzip. */
  readonly gzipped: Buffer;
  readonly type: string;
  readonly etag: string;
}

/** Beside this module in the source tree; `npm run build` copies the folder next to the compiled code. */
export const CLIENT_DIR = join(dirname(fileURLToPath(import.meta.url)), 'client');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

function asset(body: Buffer, name: string): Asset {
  const extension = name.slice(name.lastIndexOf('.'));
  return {
    body,
    gzipped: gzipSync(body, { level: 9 }),
    type: TYPES[extension] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
  };
}

function markdownItBrowserBuild(): Buffer {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('markdown-it/package.json'));
  const code = readFileSync(join(root, 'dist/browser/markdown-it.esm.min.mjs'), 'utf8');
  // The source map is not served; without this line a browser's devtools would ask for it.
  return Buffer.from(code.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'));
}

const escapeAttribute = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * URL path → asset. The page learns the request limits from a meta tag, so it trims history
 * to fit; the widget learns the allowed origins, so it stays away from other sites.
 */
export function loadAssets(limits: WebChatLimits, allowedOrigins: readonly string[]): Map<string, Asset> {
  const read = (name: string) => readFileSync(join(CLIENT_DIR, name));
  // Normalised origins hold no quote, space or backslash, so they sit safely in a JS string.
  const widget = read('widget.js').toString('utf8').replace('__ALLOWED_ORIGINS__', allowedOrigins.join(' '));
  const page = read('index.html')
    .toString('utf8')
    .replace(
      '{{LIMITS}}',
      escapeAttribute(
        JSON.stringify({
          maxHistoryTurns: limits.maxHistoryTurns,
          maxTurnChars: limits.maxTurnChars,
          maxBodyBytes: limits.maxBodyBytes,
        }),
      ),
    );
  const files: Array<[string, string]> = [
    ['/web/app.js', 'app.js'],
    ['/web/conversation.js', 'conversation.js'],
    ['/web/markdown.js', 'markdown.js'],
    ['/web/stream.js', 'stream.js'],
    ['/web/app.css', 'app.css'],
    ['/web/icon.svg', 'icon.svg'],
  ];
  return new Map<string, Asset>([
    ['/', asset(Buffer.from(page), 'index.html')],
    ...files.map(([path, name]): [string, Asset] => [path, asset(read(name), name)]),
    ['/widget.js', asset(Buffer.from(widget), 'widget.js')],
    ['/web/vendor/markdown-it.js', asset(markdownItBrowserBuild(), 'markdown-it.js')],
  ]);
}

/** Serves one asset with revalidation: browsers keep it and ask whether it changed. */
export function sendAsset(
  req: IncomingMessage,
  res: ServerResponse,
  file: Asset,
  headers: Record<string, string>,
): void {
  const common = { ...headers, etag: file.etag, 'cache-control': 'no-cache', vary: 'accept-encoding' };
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, common).end();
    return;
  }
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? file.gzipped : file.body;
  res
    .writeHead(200, {
      ...common,
      'content-type': file.type,
      'content-length': body.length,
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    })
    .end(body);
}
