/**
 * A rebinding DNS name for the crawler's tests, installed in place of the system resolver of
 * this process (the `node:dns` module every lookup goes through, `fetch`'s connections
 * included). No test touches real DNS or the internet.
 *
 * A check-then-connect crawler resolves a name twice: once to check the address (here the
 * promise API, `dns.promises.lookup`, as a check written with `await` does) and once more when
 * the socket connects (`dns.lookup`, as `net.connect` does). An attacker's server with a zero
 * TTL answers the first query with a public address and the next with 127.0.0.1; this fake
 * gives exactly that order, deterministically: the check's resolution sees `publicAddress`,
 * the connection's sees `loopback`. Any other name resolves as usual.
 */
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';

export interface RebindingDns {
  /** Lookups of the rebinding name, in order: which API asked and what it was told. */
  readonly lookups: { readonly api: 'check' | 'connect'; readonly address: string }[];
  restore(): void;
}

type Callback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

export function installRebindingDns(
  name: string,
  publicAddress = '93.184.216.34',
  loopback = '127.0.0.1',
): RebindingDns {
  const lookups: { api: 'check' | 'connect'; address: string }[] = [];
  const original = dns.lookup;
  const originalPromise = dns.promises.lookup;
  const answer = (address: string, options: LookupOptions | number | undefined) => {
    const all = typeof options === 'object' && options.all;
    const entry = { address, family: 4 };
    return all ? [entry] : entry;
  };
  const fakeLookup = (host: string, options: unknown, callback?: unknown) => {
    const cb = (typeof options === 'function' ? options : callback) as Callback;
    const opts = (typeof options === 'function' ? undefined : options) as LookupOptions | undefined;
    if (host !== name) return Reflect.apply(original, dns, [host, options, callback]);
    lookups.push({ api: 'connect', address: loopback });
    const result = answer(loopback, opts);
    process.nextTick(() =>
      Array.isArray(result) ? cb(null, result) : cb(null, result.address, result.family),
    );
    return undefined;
  };
  const fakePromise = async (host: string, options?: LookupOptions) => {
    if (host !== name) return Reflect.apply(originalPromise, dns.promises, [host, options]);
    lookups.push({ api: 'check', address: publicAddress });
    return answer(publicAddress, options);
  };
  (dns as { lookup: unknown }).lookup = fakeLookup;
  (dns.promises as { lookup: unknown }).lookup = fakePromise;
  syncBuiltinESMExports();
  return {
    lookups,
    restore() {
      (dns as { lookup: unknown }).lookup = original;
      (dns.promises as { lookup: unknown }).lookup = originalPromise;
      syncBuiltinESMExports();
    },
  };
}
