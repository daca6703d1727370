/**
 * Which reverse proxies the web chat believes about who the client is (TRUST_PROXY), as
 * Express's `trust proxy` setting reads it: a number of proxy hops in front of the bot, or the
 * proxies' addresses and networks (`10.0.0.0/8`, `loopback`, `uniquelocal`…). X-Forwarded-For
 * is read from the right: each trusted proxy appended the address it saw, so the client is the
 * first address no trusted proxy vouches for. What a client writes into the header itself is
 * further left and never believed. Unset: the header is ignored, the socket's address counts.
 */
import type { IncomingMessage } from 'node:http';
import ipaddr from 'ipaddr.js';
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
    if (holdsEveryAddress(entry)) {
      throw new Error(
        `cannot include "${entry.slice(0, 60)}": a network holding every address trusts every hop, like "true", so a client could write its own address; give the number of proxies in front of the bot (e.g. 1) or their addresses`,
      );
    }
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

/**
 * Whether the network `entry` (as proxy-addr reads it: `a.b.c.d/len`, `a.b.c.d/mask`, `x::/len`)
 * holds every IPv4 or every IPv6 address: `0.0.0.0/0`, `::/0`, `::ffff:0:0/96` (every IPv4
 * address, mapped) and the like.
 */
function holdsEveryAddress(entry: string): boolean {
  const [address = '', length] = entry.split('/');
  if (length === undefined || !ipaddr.isValid(address)) return false;
  const network = ipaddr.parse(address);
  const prefix = /^\d+$/.test(length)
    ? Number(length)
    : ipaddr.isValid(length)
      ? (ipaddr.parse(length).prefixLengthFromSubnetMask() ?? -1)
      : -1;
  if (prefix === 0) return true;
  if (network.kind() !== 'ipv6' || prefix > 96 || prefix < 0) return false;
  // A network holding every IPv4-mapped address trusts every IPv4 client.
  return (ipaddr.parse('::ffff:0:0') as ipaddr.IPv6).match(network as ipaddr.IPv6, prefix);
}

/**
 * What the web chat's per-client limits count by: an IPv4 address as it is (an IPv4-mapped one as
 * its IPv4 address), an IPv6 address by its /64 network. One subscriber, host or VM is commonly
 * given a whole /64, so counting single IPv6 addresses would give one client 2^64 budgets.
 */
export function clientLimitKey(address: string): string {
  const bare = address.split('%')[0] ?? address;
  if (!ipaddr.isValid(bare)) return address;
  const parsed = ipaddr.process(bare);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const network = (parsed as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16));
  return `${network.join(':')}::/64`;
}

/** Who is asking, for rate limits and pseudonyms: the socket's address, or the trusted proxies' word for it. */
export function clientAddress(req: IncomingMessage, trust: TrustProxy | undefined): string {
  if (!trust) return req.socket.remoteAddress ?? 'unknown';
  return proxyAddr(req, trust);
}
