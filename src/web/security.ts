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

/**
 * API calls come from the chat page itself (also inside the widget's iframe, which is this
 * origin too). A browser names the calling page's origin; one that is neither this host nor
 * an allowed origin is another site trying to use the chat, and is refused.
 */
export function originAllowed(req: IncomingMessage, allowedOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true; // not a browser's cross-site request (curl, same-origin GET)
  if (allowedOrigins.includes(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** Who is asking, for rate limits: the socket's address, or the proxy's word for it when trusted. */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return req.socket.remoteAddress ?? 'unknown';
}
