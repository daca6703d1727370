/**
 * Sites added from the chat must be public: a chat admin is not the server's operator, and a
 * crawl of a loopback, private or link-local address (a cloud metadata endpoint, an internal
 * admin page) would put what the server can reach into answers. The operator can allow them
 * (CRAWL_ALLOW_PRIVATE=true, e.g. for an intranet wiki); `npm run ingest` on the server may
 * always crawl them.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { CrawlError } from '../ingest/crawl.js';

const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['192.0.0.0', 24],
] as const)
  blocked.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['64:ff9b::', 96],
  ['::', 96],
] as const)
  blocked.addSubnet(network, prefix, 'ipv6');

function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return blocked.check(mapped, 'ipv4');
  return blocked.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/** True when `hostname` is, or resolves to, an address that is not on the public internet. */
export async function isPrivateHost(
  hostname: string,
  resolve: (host: string) => Promise<readonly string[]> = async (host) =>
    (await lookup(host, { all: true })).map((entry) => entry.address),
): Promise<boolean> {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host)) return isPrivateAddress(host);
  try {
    return (await resolve(host)).some(isPrivateAddress);
  } catch {
    // Unresolvable now: refused, since it could resolve to anything by the time it is fetched.
    return true;
  }
}

/**
 * A crawl guard for sites added from a chat: every request's host is resolved and refused if
 * it is (or resolves to) a private address, so a later DNS change or a redirect cannot turn an
 * approved public site into a way into the server's network.
 */
export function publicOnly(resolve?: (host: string) => Promise<readonly string[]>) {
  return async (url: URL): Promise<void> => {
    if (await isPrivateHost(url.hostname, resolve)) {
      throw new CrawlError(`${url.host} is a private or local address (or does not resolve); not fetched`);
    }
  };
}
