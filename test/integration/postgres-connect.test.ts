/**
 * The first connection to PostgreSQL, on a real server: a bot started before its database
 * (a compose file, a host rebooting) waits for it and starts once it is up; wrong credentials or
 * a missing database fail at once, whatever the wait; a server that never comes up fails with a
 * sentence saying what to check. Pauses go through the test's clock: nothing waits for real.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config.js';
import { connectPostgres, type PostgresDatabase } from '../../src/state/postgres.js';
import { captureLogs } from '../support/logs.js';
import { freePort } from '../support/net.js';
import { createTestDatabase, havePostgres } from '../support/postgres.js';

let url = '';
const opened: PostgresDatabase[] = [];
const servers: Server[] = [];
beforeAll(async () => {
  if (havePostgres) url = await createTestDatabase('connect');
});
afterAll(async () => {
  await Promise.all(opened.map((db) => db.close()));
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A loopback port that forwards to the real server once `open()` is called; refused before. */
async function laterServer(): Promise<{ url: string; open: () => Promise<void> }> {
  const port = await freePort();
  const target = new URL(url);
  const open = async () => {
    const server = createServer((client: Socket) => {
      const upstream = createConnection(Number(target.port), target.hostname);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  };
  const later = new URL(url);
  later.port = String(port);
  return { url: later.href, open };
}

/** A clock that moves only when the code under test pauses. */
function testClock() {
  let time = 0;
  const pauses: number[] = [];
  return {
    pauses,
    now: () => time,
    sleep: async (ms: number) => {
      pauses.push(ms);
      time += ms;
    },
  };
}

describe.skipIf(!havePostgres)('connecting to PostgreSQL at start-up', () => {
  it('waits for a server that is not up yet and connects once it is, saying so once', async () => {
    const server = await laterServer();
    const clock = testClock();
    const { logger, lines } = captureLogs();
    const db = await connectPostgres(server.url, {
      logger,
      waitForServerMs: 60_000,
      now: clock.now,
      sleep: async (ms) => {
        await clock.sleep(ms);
        // Up after the third refusal.
        if (clock.pauses.length === 3) await server.open();
      },
    });
    opened.push(db);
    expect((await db.pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    expect(clock.pauses).toEqual([500, 1_000, 2_000]);
    const waiting = lines.filter((line) => line.includes('not reachable yet'));
    expect(waiting).toHaveLength(1);
    expect(waiting[0]).toContain('trying again for up to 60 s');
    expect(waiting[0]).not.toContain(new URL(url).password);
    expect(lines.some((line) => line.includes('PostgreSQL is reachable now'))).toBe(true);
  });

  it('gives up when the server is still not up after the wait, saying what to check', async () => {
    const server = await laterServer();
    const clock = testClock();
    const failure = await connectPostgres(server.url, { waitForServerMs: 30_000, ...clock }).catch(
      (error: Error) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(
      /^PostgreSQL at 127\.0\.0\.1:\d+\/\w+ is not reachable \(ECONNREFUSED\): check that the server is running and that DATABASE_URL names its host and port$/,
    );
    // Growing pauses up to 5 s each, within the 30 s asked.
    expect(clock.pauses).toEqual([500, 1_000, 2_000, 4_000, 5_000, 5_000, 5_000, 5_000]);
    expect(clock.now()).toBeLessThanOrEqual(30_000);
  });

  it('fails at once, without waiting, on a wrong password or a missing database', async () => {
    const clock = testClock();
    const wrongPassword = new URL(url);
    wrongPassword.password = 'not-the-password';
    const refused = await connectPostgres(wrongPassword.href, { waitForServerMs: 60_000, ...clock }).catch(
      (error: Error) => error,
    );
    expect((refused as Error).message).toContain('refused the user name or password in DATABASE_URL');
    expect((refused as Error).message).not.toContain('not-the-password');
    const missing = new URL(url);
    missing.pathname = '/no_such_database';
    const absent = await connectPostgres(missing.href, { waitForServerMs: 60_000, ...clock }).catch(
      (error: Error) => error,
    );
    expect((absent as Error).message).toContain('the database does not exist');
    expect(clock.pauses).toEqual([]);
  });

  it('fails at once without a wait, as the commands connect', async () => {
    const server = await laterServer();
    const clock = testClock();
    const failure = await connectPostgres(server.url, clock).catch((error: Error) => error);
    expect((failure as Error).message).toContain('is not reachable (ECONNREFUSED)');
    expect(clock.pauses).toEqual([]);
  });
});

describe.skipIf(!havePostgres)('DATABASE_POOL_SIZE', () => {
  it('bounds the connections one process opens, however many statements wait', async () => {
    const db = await openDatabase(parseConfig({ DATABASE_URL: url, DATABASE_POOL_SIZE: '2' }));
    opened.push(db);
    const pids = await Promise.all(
      Array.from({ length: 8 }, () =>
        db.pool
          .query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.02)')
          .then((r) => r.rows[0]!.pid),
      ),
    );
    expect(new Set(pids).size).toBeLessThanOrEqual(2);
    expect(pids).toHaveLength(8);
  });
});
