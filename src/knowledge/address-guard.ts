/**
 * Sites added from the chat must be public: a chat admin is not the server's operator, and a
 * crawl of a loopback, private or link-local address (a cloud metadata endpoint, an internal
 * admin page) would put what the server can reach into answers. The operator can name the
 * intranet hosts that may be reached anyway (CRAWL_ALLOW_HOSTS=wiki.internal: that name only,
 * wherever it resolves), or allow every private address (CRAWL_ALLOW_PRIVATE=true);
 * `npm run ingest` on the server may always crawl them.
 *
 * The address checked must be the address connected to. Resolving a name to check it and
 * letting `fetch` resolve it again is a race an attacker's DNS wins (DNS rebinding: a public
 * address for the check, 127.0.0.1 a moment later for the request). So a crawl of a chat-added
 * site connects through an HTTP agent whose own DNS lookup refuses private answers: the
 * connection is made to exactly the address that was checked.
 */
import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import { BlockList, isIP } from 'node:net';
import type { Agent } from 'undici';
import { CrawlError } from '../ingest/crawl.js';

const blocked = new BlockList();
const blockedIPv4 = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  // Reserved (and the broadcast address): never a public site.
  ['240.0.0.0', 4],
  ['192.0.0.0', 24],
  // The 6to4 relays' anycast address (deprecated): it forwards to addresses of its choosing.
  ['192.88.99.0', 24],
] as const;
/** The 6to4 network (2002::/16) carrying IPv4 `network` in its next 32 bits. */
function sixToFour(network: string): string {
  const [a = 0, b = 0, c = 0, d = 0] = network.split('.').map(Number);
  return `2002:${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}::`;
}
for (const [network, prefix] of blockedIPv4) {
  blocked.addSubnet(network, prefix, 'ipv4');
  // A 6to4 address is reached through the IPv4 address it embeds: the same ranges are refused
  // there (2002:7f00:1:: is 127.0.0.1), as Node's BlockList already does for ::ffff:127.0.0.1.
  blocked.addSubnet(sixToFour(network), 16 + prefix, 'ipv6');
  // NAT64's well-known prefix (RFC 6052) carries the IPv4 address in its last 32 bits, and its
  // translator reaches exactly that address: refused where the address is, so a site reachable
  // only through NAT64 (an IPv6-only network) can still be added.
  blocked.addSubnet(`64:ff9b::${network}`, 96 + prefix, 'ipv6');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  // NAT64's local-use prefix: translated to IPv4 addresses of the network's choosing (RFC 8215).
  ['64:ff9b:1::', 48],
  // Teredo tunnels to an obfuscated IPv4 address; discard-only.
  ['2001::', 32],
  ['100::', 64],
  ['::', 96],
  ['ff00::', 8],
  ['2001:db8::', 32],
] as const)
  blocked.addSubnet(network, prefix, 'ipv6');

/**
 * Addresses refused even for a host the operator allows (CRAWL_ALLOW_HOSTS): link-local ranges
 * and the clouds' instance metadata endpoints. An intranet site is never there, and a pattern
 * such as `*.corp.internal` could also name a metadata host.
 */
const neverAllowed = new BlockList();
neverAllowed.addSubnet('169.254.0.0', 16, 'ipv4');
neverAllowed.addSubnet('100.100.100.200', 32, 'ipv4');
neverAllowed.addSubnet('fe80::', 10, 'ipv6');
neverAllowed.addSubnet('fd00:ec2::254', 128, 'ipv6');

function isMetadataAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return neverAllowed.check(mapped, 'ipv4');
  return neverAllowed.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return blocked.check(mapped, 'ipv4');
  return blocked.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

/** Every address a name resolves to (the system resolver, as `fetch` would use). */
export type Resolver = (host: string) => Promise<readonly ResolvedAddress[]>;

// Through the module object, looked up at call time: the system resolver, whatever replaced it.
const systemResolver: Resolver = (host) => dns.promises.lookup(host, { all: true });
/** The resolution a socket makes (`net.connect` calls `dns.lookup`), taken once for the connection. */
const connectionResolver: Resolver = (host) =>
  new Promise((resolve, reject) =>
    dns.lookup(host, { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))),
  );

const bare = (hostname: string) => hostname.replace(/^\[|\]$/g, '');

/** Host names the operator lets chat-added sources reach on private addresses. */
export type AllowedHost = (hostname: string) => boolean;
const noneAllowed: AllowedHost = () => false;

/**
 * CRAWL_ALLOW_HOSTS: comma-separated host names, each exact (`wiki.internal`) or `*.` and a
 * domain for its subdomains (`*.corp.example`, not `corp.example` itself). Names only: an
 * address would allow whatever answers on it, which is what the guard is for.
 */
export function parseHostPatterns(value: string | undefined): readonly string[] {
  const patterns = (value ?? '')
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter(Boolean);
  for (const pattern of patterns) {
    const wildcard = pattern.startsWith('*.');
    const name = wildcard ? pattern.slice(2) : pattern;
    const last = name.split('.').at(-1) ?? '';
    // An address (or what ends like one) would allow whatever answers on it.
    if (isIP(bare(name)) || !isHostName(name) || /^\d+$/.test(last))
      throw new Error(
        `"${pattern}" is not a host name (write wiki.internal, or *.corp.example for its subdomains)`,
      );
    if (wildcard && !name.includes('.'))
      throw new Error(
        `"${pattern}" names every host of a top-level domain; name the domain (*.corp.example)`,
      );
  }
  return patterns;
}

/** Labels of letters, digits and inner hyphens, joined by dots. */
function isHostName(name: string): boolean {
  if (!name || name.length > 253) return false;
  return name.split('.').every((label) => {
    if (!label || label.length > 63 || label.startsWith('-') || label.endsWith('-')) return false;
    for (const char of label)
      if (!((char >= 'a' && char <= 'z') || (char >= '0' && char <= '9') || char === '-')) return false;
    return true;
  });
}

/** Whether `hostname` is one of `patterns` (see `parseHostPatterns`). */
export function allowedHosts(patterns: readonly string[]): AllowedHost {
  if (patterns.length === 0) return noneAllowed;
  return (hostname) => {
    const host = bare(hostname).toLowerCase().replace(/\.$/, '');
    if (isIP(host)) return false;
    return patterns.some((pattern) =>
      pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) : host === pattern,
    );
  };
}
const isLocalName = (host: string) => host === 'localhost' || host.endsWith('.localhost');

/** True when `hostname` is, or resolves to, an address that is not on the public internet. */
export async function isPrivateHost(hostname: string, resolve: Resolver = systemResolver): Promise<boolean> {
  const host = bare(hostname);
  if (isLocalName(host)) return true;
  if (isIP(host)) return isPrivateAddress(host);
  try {
    return (await resolve(host)).some((entry) => isPrivateAddress(entry.address));
  } catch {
    // Unresolvable now: refused, since it could resolve to anything by the time it is fetched.
    return true;
  }
}

/** A connection refused because its address is not public; the crawl lists the page with this reason. */
export class PrivateAddressError extends CrawlError {
  override name = 'PrivateAddressError';
  readonly code = 'EPRIVATEADDRESS';
}

/**
 * The addresses to connect to for `hostname`, resolved once: refused when any of them is
 * private (a name answering both is as good as a private one), or when it does not resolve.
 */
export async function publicAddresses(
  hostname: string,
  resolve: Resolver = connectionResolver,
): Promise<readonly ResolvedAddress[]> {
  const host = bare(hostname);
  const refuse = (why: string) =>
    new PrivateAddressError(
      `${host} ${why}; only public addresses are fetched for sites added from the chat`,
    );
  if (isLocalName(host)) throw refuse('is a local name');
  if (isIP(host)) {
    if (isPrivateAddress(host)) throw refuse('is a private or local address');
    return [{ address: host, family: isIP(host) }];
  }
  let addresses: readonly ResolvedAddress[];
  try {
    addresses = await resolve(host);
  } catch {
    throw refuse('does not resolve');
  }
  const inside = addresses.find((entry) => isPrivateAddress(entry.address));
  if (inside) throw refuse(`resolves to a private or local address (${inside.address})`);
  if (addresses.length === 0) throw refuse('does not resolve');
  return addresses;
}

/**
 * The addresses of a host the operator allows on private addresses: any but link-local and
 * metadata ones (`neverAllowed`); refused when it does not resolve.
 */
export async function allowedAddresses(
  hostname: string,
  resolve: Resolver = connectionResolver,
): Promise<readonly ResolvedAddress[]> {
  const host = bare(hostname);
  let addresses: readonly ResolvedAddress[];
  try {
    addresses = await resolve(host);
  } catch {
    throw new PrivateAddressError(`${host} does not resolve`);
  }
  const metadata = addresses.find((entry) => isMetadataAddress(entry.address));
  if (metadata)
    throw new PrivateAddressError(
      `${host} resolves to a link-local or metadata address (${metadata.address}); never fetched`,
    );
  if (addresses.length === 0) throw new PrivateAddressError(`${host} does not resolve`);
  return addresses;
}

/**
 * The DNS lookup of a connection (`net.connect`'s `lookup` option): resolves once, refuses
 * private answers, and hands the socket the checked address, so nothing resolves it again.
 */
export function publicOnlyLookup(
  resolve: Resolver = connectionResolver,
  allowed: AllowedHost = noneAllowed,
): LookupFunction {
  return (hostname, options, callback) => {
    const wanted =
      options.family === 6 || options.family === 'IPv6'
        ? 6
        : options.family === 4 || options.family === 'IPv4'
          ? 4
          : 0;
    const addresses = allowed(hostname)
      ? allowedAddresses(hostname, resolve)
      : publicAddresses(hostname, resolve);
    addresses.then(
      (addresses) => {
        const usable = wanted ? addresses.filter((entry) => entry.family === wanted) : addresses;
        const first = usable[0];
        if (!first) {
          const error: NodeJS.ErrnoException = new Error(`${hostname} has no IPv${wanted} address`);
          error.code = 'ENOTFOUND';
          callback(error, '', 0);
        } else if (options.all)
          callback(
            null,
            usable.map((entry) => ({ ...entry })),
          );
        else callback(null, first.address, first.family);
      },
      (error: Error) => callback(error, '', 0),
    );
  };
}

/**
 * A crawl guard for sites added from a chat, checked before each request: a URL naming a
 * private address or a local name is refused without a request. Names are checked where they
 * are connected to (`publicOnlyFetch`), not here: a check here would resolve the name a second time.
 */
export function publicOnly(allowed: AllowedHost = noneAllowed) {
  return async (url: URL): Promise<void> => {
    const host = bare(url.hostname);
    if (allowed(host)) return;
    if (isLocalName(host) || (isIP(host) && isPrivateAddress(host))) {
      throw new PrivateAddressError(`${url.host} is a private or local address; not fetched`);
    }
  };
}

/**
 * `fetch` for sites added from the chat: every connection (each request, redirect, robots.txt
 * and sitemap) resolves its host once, refuses private answers, and connects to the address it
 * checked. undici (the library behind Node's own fetch) is loaded on the first crawl only.
 */
export function publicOnlyFetch(
  resolve?: Resolver,
  allowed: AllowedHost = noneAllowed,
): { fetch: typeof fetch; close(): Promise<void> } {
  let agent: Promise<{ agent: Agent; fetch: typeof import('undici').fetch }> | undefined;
  return {
    fetch: async (input, init) => {
      agent ??= import('undici').then((undici) => ({
        agent: new undici.Agent({ connect: { lookup: publicOnlyLookup(resolve, allowed) } }),
        fetch: undici.fetch,
      }));
      const { agent: dispatcher, fetch: undiciFetch } = await agent;
      const url = input instanceof Request ? input.url : input;
      // undici's Response is the class Node's global fetch returns, from the package's own copy.
      return (await undiciFetch(url, { ...(init as object), dispatcher })) as unknown as Response;
    },
    /** Closes the connections kept alive, so a command that is done can exit at once. */
    close: async () => {
      if (agent) await (await agent).agent.close();
      agent = undefined;
    },
  };
}
