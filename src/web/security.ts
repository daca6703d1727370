/**
 * The web chat's guards: response headers (a strict Content-Security-Policy whose
 * frame-ancestors are the origins allowed to embed the chat), the access-token check, the
 * Origin check on API calls, and who a client is for rate limiting.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Nothing but this origin's own files may load or run: no inline script or style, no plugin,
 * no `<base>`, no form posting elsewhere. Embedding is limited to the allowed origins.
 */
export function contentSecurityPolicy(allowedOrigins: readonly string[]): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${["'self'", ...allowedOrigins].join(' ')}`,
  ].join('; ');
}

/** Headers for every response of the web chat (pages, assets, API). */
export function securityHeaders(allowedOrigins: readonly string[]): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(allowedOrigins),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    // Older browsers ignore frame-ancestors; with no embedding origins they still refuse framing.
    ...(allowedOrigins.length === 0 ? { 'x-frame-options': 'SAMEORIGIN' } : {}),
  };
}

/** Compares a presented token with the configured one in constant time (digests hide the length). */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The Bearer token of a request, if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

/** Host names a person reaches the bot on from its own machine; a rebinding site cannot send them. */
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The request's Host header as `host[:port]`, lower case, without a default port; undefined if malformed. */
function requestHost(req: IncomingMessage): URL | undefined {
  const host = req.headers.host;
  if (!host) return undefined;
  try {
    const url = new URL(`http://${host}`);
    if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return undefined;
    return url;
  } catch {
    return undefined;
  }
}

const withoutDefaultPort = (url: URL) => (url.port === '443' || url.port === '80' ? url.hostname : url.host);

/**
 * Whether the request was addressed to this chat: a Host the operator named
 * (WEB_CHAT_PUBLIC_URL), or a local name. After DNS rebinding, a site's page reaches the bot
 * under the site's own name: that Host is refused, whatever else the request says.
 */
export function hostAllowed(req: IncomingMessage, publicOrigins: readonly string[]): boolean {
  const url = requestHost(req);
  if (!url) return false;
  if (LOCAL_HOSTS.has(url.hostname)) return true;
  const host = withoutDefaultPort(url);
  return publicOrigins.some((origin) => withoutDefaultPort(new URL(origin)) === host);
}

/**
 * API calls come from the chat page itself (also inside the widget's iframe, which is this
 * origin too). A browser names the calling page's origin; it must be the chat's public origin
 * (WEB_CHAT_PUBLIC_URL), an allowed embedding origin (WEB_CHAT_ORIGINS), or, when the bot is
 * reached on a local name, that same local origin. The Host header alone proves nothing: a
 * rebinding site sets it.
 */
export function originAllowed(
  req: IncomingMessage,
  allowedOrigins: readonly string[],
  publicOrigins: readonly string[] = [],
): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true; // not a browser's cross-site request (curl, same-origin GET)
  if (allowedOrigins.includes(origin) || publicOrigins.includes(origin)) return true;
  const host = requestHost(req);
  try {
    const from = new URL(origin);
    return host !== undefined && LOCAL_HOSTS.has(host.hostname) && from.host === host.host;
  } catch {
    return false;
  }
}
