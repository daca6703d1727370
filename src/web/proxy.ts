/**
 * Which reverse proxies the web chat believes about who the client is (TRUST_PROXY), as
 * Express's `trust proxy` setting reads it: a number of proxy hops in front of the bot, or the
 * proxies' addresses and networks (`10.0.0.0/8`, `loopback`, `uniquelocal`…). X-Forwarded-For
 * is read from the right: each trusted proxy appended the address it saw, so the client is the
 * first address no trusted proxy vouches for. What a client writes into the header itself is
 * further left and never believed. Unset: the header is ignored, the socket's address counts.
 */
import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';

/** A compiled TRUST_PROXY: whether the address at hop `i` (0 = the socket's peer) is a trusted proxy. */
export type TrustProxy = (address: string, hop: number) => boolean;

const PRESETS = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** TRUST_PROXY: a whole number of hops, or comma-separated addresses, networks and presets. */
export function parseTrustProxy(value: string | undefined): TrustProxy | undefined {
  const text = value?.trim().toLowerCase();
  if (!text || ['false', 'off', 'no', '0'].includes(text)) return undefined;
  if (['true', 'on', 'yes'].includes(text)) {
    throw new Error(
      'cannot be "true": trusting every hop would let a client write its own address; give the number of proxies in front of the bot (e.g. 1) or their addresses',
    );
  }
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops > 20) throw new Error('must be at most 20 proxy hops');
    return (_address, hop) => hop < hops;
  }
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const entry of entries) {
    if (PRESETS.has(entry)) continue;
    try {
      proxyAddr.compile(entry);
    } catch {
      throw new Error(
        `"${entry.slice(0, 60)}" is not a number of hops, an address, a network (10.0.0.0/8) or loopback, linklocal, uniquelocal`,
      );
    }
  }
  return proxyAddr.compile(entries);
}

/** Who is asking, for rate limits and pseudonyms: the socket's address, or the trusted proxies' word for it. */
export function clientAddress(req: IncomingMessage, trust: TrustProxy | undefined): string {
  if (!trust) return req.socket.remoteAddress ?? 'unknown';
  return proxyAddr(req, trust);
}
