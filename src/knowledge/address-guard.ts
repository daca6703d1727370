/**
 * Sites added from the chat must be public: a chat admin is not the server's operator, and a
 * crawl of a loopback, private or link-local address (a cloud metadata endpoint, an internal
 * admin page) would put what the server can reach into answers. The operator can allow them
 * (CRAWL_ALLOW_PRIVATE=true, e.g. for an intranet wiki); `npm run ingest` on the server may
 * always crawl them.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

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
] as const)
  blocked.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
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
    return false; // unresolvable now: the crawl will report it as unreachable
  }
}
