import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { clientAddress, clientLimitKey, parseTrustProxy } from '../../src/web/proxy.js';

const request = (socket: string, forwarded?: string) =>
  ({
    socket: { remoteAddress: socket },
    headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
  }) as unknown as IncomingMessage;

describe('TRUST_PROXY', () => {
  it('unset: X-Forwarded-For is ignored; the socket is the client', () => {
    expect(clientAddress(request('198.51.100.4', '1.2.3.4'), parseTrustProxy(undefined))).toBe(
      '198.51.100.4',
    );
  });

  it('a hop count takes the address that many proxies appended, never what the client wrote before them', () => {
    const one = parseTrustProxy('1');
    expect(clientAddress(request('10.0.0.2', '6.6.6.6, 203.0.113.7'), one)).toBe('203.0.113.7');
    const two = parseTrustProxy('2');
    expect(clientAddress(request('10.0.0.2', '6.6.6.6, 203.0.113.7, 10.0.0.9'), two)).toBe('203.0.113.7');
    // Fewer entries than hops: the left-most one there is (what the first proxy saw).
    expect(clientAddress(request('10.0.0.2'), two)).toBe('10.0.0.2');
  });

  it('addresses and networks trust only those proxies: a request from elsewhere is its own socket', () => {
    const trust = parseTrustProxy('loopback, 10.0.0.0/8');
    expect(clientAddress(request('127.0.0.1', '6.6.6.6, 203.0.113.7, 10.1.2.3'), trust)).toBe('203.0.113.7');
    expect(clientAddress(request('198.51.100.4', '6.6.6.6'), trust)).toBe('198.51.100.4');
  });

  it('refuses true and nonsense with a message naming what to write', () => {
    expect(() => parseConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY cannot be "true"/);
    expect(() => parseConfig({ TRUST_PROXY: 'proxy.internal' })).toThrow(/not a number of hops, an address/);
  });

  it('refuses a network holding every address, which trusts every hop like true', () => {
    for (const value of ['0.0.0.0/0', '::/0', '10.0.0.1, 0.0.0.0/0.0.0.0', '::ffff:0:0/96', '192.0.2.1/0']) {
      expect(() => parseTrustProxy(value), value).toThrow(
        /holding every address trusts every hop, like "true"/,
      );
    }
    expect(parseTrustProxy('10.0.0.0/8, fd00::/8')).toBeDefined();
  });

  it('counts an IPv6 client by its /64 and an IPv4 (or IPv4-mapped) one by its address', () => {
    expect(clientLimitKey('2001:db8:1:2:3:4:5:6')).toBe(clientLimitKey('2001:0db8:0001:0002:ffff::1'));
    expect(clientLimitKey('2001:db8:1:2::1')).not.toBe(clientLimitKey('2001:db8:1:3::1'));
    expect(clientLimitKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientLimitKey('203.0.113.7')).not.toBe(clientLimitKey('203.0.113.8'));
  });

  it('WEB_CHAT_TRUST_PROXY=true still works, read as one hop, with a notice; TRUST_PROXY wins over it', () => {
    const legacy = parseConfig({ WEB_CHAT_TRUST_PROXY: 'true' }).web;
    expect(legacy.notice).toMatch(/read as TRUST_PROXY=1/);
    expect(clientAddress(request('10.0.0.2', '6.6.6.6, 203.0.113.7'), legacy.trustProxy)).toBe('203.0.113.7');
    const both = parseConfig({ WEB_CHAT_TRUST_PROXY: 'true', TRUST_PROXY: '2' }).web;
    expect(both.notice).toMatch(/WEB_CHAT_TRUST_PROXY is ignored/);
    expect(clientAddress(request('10.0.0.2', '6.6.6.6, 203.0.113.7, 10.0.0.9'), both.trustProxy)).toBe(
      '203.0.113.7',
    );
  });
});
