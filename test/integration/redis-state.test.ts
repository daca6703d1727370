import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/log.js';
import { connectRedis, RedisDedupeStore, RedisRateLimiter } from '../../src/ops/redis-state.js';
import { createSharedState } from '../../src/ops/shared-state.js';
import { captureLogs } from '../support/logs.js';
import { freePort } from '../support/net.js';
import { haveRedis, type RedisServer, startRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

describe.skipIf(!haveRedis)('shared state in a real Redis, as several instances see it', () => {
  let server: RedisServer;
  let url: string;

  beforeAll(async () => {
    server = await startRedis();
    url = server.url;
  });
  afterAll(() => server?.stop());

  it('drops an event retried onto another instance', async () => {
    const [a, b] = await Promise.all([connectRedis(url), connectRedis(url)]);
    try {
      expect(await new RedisDedupeStore(a).firstSeen('slack:event:Ev1', 60_000)).toBe(true);
      expect(await new RedisDedupeStore(b).firstSeen('slack:event:Ev1', 60_000)).toBe(false);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });

  it('counts one user across instances and says how long to wait', async () => {
    const [a, b] = await Promise.all([connectRedis(url), connectRedis(url)]);
    try {
      const limiters = [new RedisRateLimiter(a), new RedisRateLimiter(b)];
      const decisions = [];
      for (let i = 0; i < 4; i++) decisions.push(await limiters[i % 2]!.hit('user:slack:U1', 3, 60_000));
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
      expect(decisions[3]!.retryAfterMs).toBeGreaterThan(50_000);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });

  it('opens a new window once the old one expires', async () => {
    const redis = await connectRedis(url);
    try {
      const limiter = new RedisRateLimiter(redis);
      await limiter.hit('user:slack:U2', 1, 100);
      expect((await limiter.hit('user:slack:U2', 1, 100)).allowed).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect((await limiter.hit('user:slack:U2', 1, 100)).allowed).toBe(true);
    } finally {
      redis.disconnect();
    }
  });

  it('keeps an hourly counter beside per-minute ones, and a refused attempt spends no other limit', async () => {
    const redis = await connectRedis(url);
    try {
      const limiter = new RedisRateLimiter(redis);
      for (let i = 0; i < 3; i++) await limiter.hit('escalation:user:slack:U3', 3, 3_600_000);
      await limiter.hit('user:slack:U4', 5, 100);
      await new Promise((resolve) => setTimeout(resolve, 150));
      await limiter.hit('user:slack:U4', 5, 100);
      const refused = await limiter.hit('escalation:user:slack:U3', 3, 3_600_000);
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterMs).toBeGreaterThan(3_500_000);
      const both = await limiter.hitAll([
        { key: 'escalation:user:slack:U5', limit: 1, windowMs: 3_600_000 },
        { key: 'escalation:user:slack:U3', limit: 3, windowMs: 3_600_000 },
      ]);
      expect(both).toMatchObject({ allowed: false, refused: 1 });
      expect((await limiter.hit('escalation:user:slack:U5', 1, 3_600_000)).allowed).toBe(true);
    } finally {
      redis.disconnect();
    }
  });

  it('gives a counter found without an expiry its window again, so it cannot refuse for ever', async () => {
    const redis = await connectRedis(url);
    try {
      await redis.set('rag-chat-bot:rate:user:slack:U6', '9');
      const limiter = new RedisRateLimiter(redis);
      const refused = await limiter.hit('user:slack:U6', 3, 60_000);
      expect(refused.allowed).toBe(false);
      expect(await redis.pttl('rag-chat-bot:rate:user:slack:U6')).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });

  it('when Redis goes away, this instance goes on from the hits it counted, not from zero', async () => {
    const redis = await connectRedis(url);
    const { logger } = captureLogs();
    const limiter = new RedisRateLimiter(redis, logger);
    for (let i = 0; i < 3; i++)
      expect((await limiter.hit('escalation:user:slack:U7', 3, 3_600_000)).allowed).toBe(true);
    redis.disconnect();
    expect((await limiter.hit('escalation:user:slack:U7', 3, 3_600_000)).allowed).toBe(false);
  });
});

/** A loopback port with nothing listening: connections are refused at once. */
async function closedPortURL(): Promise<string> {
  return `redis://127.0.0.1:${await freePort()}`;
}

describe('shared state when Redis is unreachable', () => {
  it('still drops repeats of one event: five deliveries, one answer', async () => {
    const shared = await createSharedState(await closedPortURL(), undefined, { connectWaitMs: 200 });
    try {
      const seen = [];
      for (let i = 0; i < 5; i++) seen.push(await shared.dedupe.firstSeen('slack:event:Ev5', 60_000));
      expect(seen).toEqual([true, false, false, false, false]);
      expect(await shared.dedupe.firstSeen('slack:event:Ev6', 60_000)).toBe(true);
    } finally {
      await shared.close();
    }
  });

  it('still applies rate limits, in this instance, and says how long to wait', async () => {
    const shared = await createSharedState(await closedPortURL(), undefined, { connectWaitMs: 200 });
    try {
      const decisions = [];
      for (let i = 0; i < 3; i++) decisions.push(await shared.rates.hit('user:slack:U1', 2, 60_000));
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, false]);
      expect(decisions[2]!.retryAfterMs).toBeGreaterThan(0);
      expect((await shared.rates.hit('user:slack:U2', 2, 60_000)).allowed).toBe(true);
    } finally {
      await shared.close();
    }
  });

  it('logs the outage once, not once per question', async () => {
    const { logger, lines } = captureLogs();
    const redis = await connectRedis(await closedPortURL(), undefined, 200);
    try {
      const dedupe = new RedisDedupeStore(redis, logger);
      for (let i = 0; i < 5; i++) await dedupe.firstSeen(`ev${i}`, 1_000);
      expect(lines.filter((line) => line.includes('Redis unavailable for dedupe'))).toHaveLength(1);
    } finally {
      redis.disconnect();
    }
  });
});

describe.skipIf(!haveRedis)('the connection to Redis, in the log', () => {
  const servers: ChildProcess[] = [];
  afterAll(() => {
    for (const server of servers) server.kill();
  });
  /** A redis-server on `port`, with `args`, answering once this resolves. */
  async function redisOn(port: number, args: string[] = []): Promise<void> {
    const server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
      { stdio: 'ignore' },
    );
    servers.push(server);
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const socket = createConnection(port, '127.0.0.1', () => {
            socket.destroy();
            resolve(true);
          });
          socket.on('error', () => resolve(false));
        }),
      'redis-server to listen',
    );
  }
  /** A client whose failed attempts are counted (the client retries for as long as it fails). */
  async function client(url: string, logger: Logger) {
    let attempts = 0;
    const redis = await connectRedis(url, logger, 100);
    redis.on('error', () => {
      attempts += 1;
    });
    return { redis, attempts: () => attempts };
  }

  it('says once, whatever the retries, that the password was refused and what to set', async () => {
    const port = await freePort();
    await redisOn(port, ['--requirepass', 'the-right-one']);
    const { logger, lines } = captureLogs();
    const { redis, attempts } = await client(`redis://127.0.0.1:${port}`, logger);
    try {
      await waitFor(() => attempts() >= 3, 'three refused attempts');
      const warnings = lines.filter((line) => line.includes('"level":40'));
      expect(warnings).toHaveLength(1);
      expect(JSON.parse(warnings[0]!).msg).toBe(
        `Redis at 127.0.0.1:${port} refused the credentials in REDIS_URL (NOAUTH): set the password (redis://:password@host:6379, or user:password for an ACL user); dedupe and rate limits use this instance's memory until it accepts them`,
      );
    } finally {
      redis.disconnect();
    }
  });

  it('says once that Redis is not reachable, and once that it is back', async () => {
    const port = await freePort();
    const { logger, lines } = captureLogs();
    const { redis, attempts } = await client(`redis://127.0.0.1:${port}`, logger);
    try {
      await waitFor(() => attempts() >= 3, 'three refused attempts');
      await redisOn(port);
      await waitFor(() => redis.status === 'ready', 'the client to connect');
      const said = lines.map((line) => JSON.parse(line).msg as string);
      expect(said).toEqual([
        `Redis at 127.0.0.1:${port} is not reachable (ECONNREFUSED): check that it is running and REDIS_URL's host and port; dedupe and rate limits use this instance's memory until it is`,
        `Redis at 127.0.0.1:${port} is reachable again`,
      ]);
    } finally {
      redis.disconnect();
    }
  });
});
