/**
 * Sources across instances (DATABASE_URL): each instance with its own data folder and pool on
 * one PostgreSQL, as on separate hosts. A source added through one is listed, synced and
 * removed through another; two tenants racing for one new collection through two instances:
 * one gets it; `/kb learn` is every instance's; and the schedule, on three instances and the
 * test's clock, syncs each source once per interval and takes over within a minute the crawl of
 * an instance that died.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { KnowledgeService, NotYourCollectionError, SYNC_LOCK_TTL_MS } from '../../src/knowledge/service.js';
import {
  PostgresLearningRepository,
  PostgresSourceRepository,
} from '../../src/knowledge/sources-postgres.js';
import type { HeartbeatTimers } from '../../src/knowledge/sync-lock.js';
import { openAppDatabase } from '../../src/state/app-db.js';
import { connectPostgres } from '../../src/state/postgres.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { type FakeDocsSite, startFakeDocsSite } from '../fakes/docs-site/index.js';
import { createTestDatabase, havePostgres } from '../support/postgres.js';

const HOUR = 3_600_000;
let url = '';
let clock = Date.parse('2026-03-02T10:00:00Z');
let sites: FakeDocsSite[] = [];
const closers: (() => Promise<void> | void)[] = [];

/** Lock renewals that never come: an instance that stops beating, as a dead one. */
const silent: HeartbeatTimers = { setInterval: () => ({}), clearInterval: () => undefined };

/** One instance: its own data folder and pool, the database shared, the test's clock. */
async function instance(name: string, options: { tenants?: boolean } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'rag-pg-sources-'));
  const db = await connectPostgres(url, { maxConnections: 3 });
  const app = openAppDatabase(dir);
  const service = new KnowledgeService({
    store: await PostgresStore.open({ db }),
    appDatabase: () => app,
    sources: await PostgresSourceRepository.open(db, { now: () => clock }),
    learning: await PostgresLearningRepository.open(db),
    settings: parseConfig({ CRAWL_ALLOW_PRIVATE: 'true', CRAWL_DELAY_MS: '0' }).knowledge,
    crawl: { sleep: async () => undefined },
    instanceId: name,
    lockTimers: silent,
    ...(options.tenants ? { tenantPlatforms: new Set(['slack']) } : {}),
  });
  closers.push(async () => {
    await service.stop();
    app.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });
  return service;
}

beforeAll(async () => {
  if (!havePostgres) return;
  url = await createTestDatabase('sources');
  sites = await Promise.all([startFakeDocsSite(), startFakeDocsSite()]);
});
afterAll(async () => {
  for (const close of closers) await close();
  await Promise.all(sites.map((site) => site.close()));
});

describe.skipIf(!havePostgres)('sources shared through PostgreSQL', () => {
  it('adds a source through one instance, lists and syncs it through another, removes it through a third', async () => {
    const [a, b, c] = [await instance('a1'), await instance('b1'), await instance('c1')];
    const place = { platform: 'slack', channelId: 'C0DOCS', workspaceId: 'T1' };
    const { source, created } = await a.addSourceFromChat(
      place,
      `${sites[0]!.url}/docs/`,
      'docs',
      'slack:U1',
    );
    expect(created).toBe(true);
    expect((await b.sourcesFor(place)).map((s) => s.url)).toEqual([source.url]);
    const [summary] = await b.sync([source]);
    expect(summary?.error).toBeUndefined();
    expect(summary?.added).toBeGreaterThan(0);
    const listed = await c.findSource(String(source.id));
    expect(listed).toMatchObject({ lastStatus: 'ok', pages: summary!.added });
    expect(await a.store.search('When are invoices sent?', { topK: 1, collections: ['docs'] })).toHaveLength(
      1,
    );
    expect(await c.removeSource(listed!)).toBe(summary!.added);
    expect(await a.sources()).toEqual([]);
    expect(await a.store.search('When are invoices sent?', { topK: 1, collections: ['docs'] })).toEqual([]);
  });

  it('gives a new collection to exactly one of two workspaces racing for it through two instances', async () => {
    const [a, b] = [await instance('a2', { tenants: true }), await instance('b2', { tenants: true })];
    for (let i = 0; i < 6; i++) {
      const collection = `race-${i}`;
      const results = await Promise.allSettled([
        a.addSourceFromChat(
          { platform: 'slack', channelId: 'C1', workspaceId: 'T0ALPHA' },
          `${sites[0]!.url}/docs/`,
          collection,
          'slack:UA',
        ),
        b.addSourceFromChat(
          { platform: 'slack', channelId: 'C2', workspaceId: 'T0BETA' },
          `${sites[1]!.url}/docs/`,
          collection,
          'slack:UB',
        ),
      ]);
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      const refused = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
      expect(refused.reason).toBeInstanceOf(NotYourCollectionError);
    }
    for (const source of await a.sources()) await a.removeSource(source);
  });

  it('learns in a channel for every instance, and stops for every one', async () => {
    const [a, b] = [await instance('a3'), await instance('b3')];
    const place = { platform: 'slack', channelId: 'C0LEARN', workspaceId: 'T1' };
    await a.startLearning(place, 'slack:UADMIN', true);
    expect(await b.learningIn(place)).toMatchObject({ channel: 'C0LEARN', enabledBy: 'slack:UADMIN' });
    expect(await b.stopLearning(place)).toBe(true);
    expect(await a.learningIn(place)).toBeUndefined();
  });
});

describe.skipIf(!havePostgres)('the sync schedule across three instances', () => {
  it('syncs each source once per interval across them, and takes over within a minute a crawl whose instance died', async () => {
    const [a, b, c] = [await instance('a4'), await instance('b4'), await instance('c4')];
    const [first, second] = [
      (await a.addSource(`${sites[0]!.url}/docs/`, 'scheduled', 'cli')).source,
      (await a.addSource(`${sites[1]!.url}/docs/`, 'scheduled', 'cli')).source,
    ];
    const indexFetches = (site: FakeDocsSite) => site.requests.filter((r) => r.path === '/docs/').length;
    for (const site of sites) site.clearRequests();

    // All three look at once: each source is synced by one of them.
    const synced = (await Promise.all([a.syncDue(HOUR), b.syncDue(HOUR), c.syncDue(HOUR)])).flat();
    expect(synced.map((summary) => summary.source.id).sort()).toEqual([first.id, second.id].sort());
    expect(sites.map(indexFetches)).toEqual([1, 1]);

    // Half an interval on, nothing is due anywhere.
    clock += HOUR / 2;
    expect((await Promise.all([a.syncDue(HOUR), b.syncDue(HOUR), c.syncDue(HOUR)])).flat()).toEqual([]);

    // An interval on: A takes the first source, and dies half way through its crawl.
    clock += HOUR / 2;
    const hold = sites[0]!.holdPage('/docs/install.html');
    const dying = a.syncDue(HOUR);
    await hold.requested;
    // 30 s later its lock still stands: B syncs the other source only.
    clock += 30_000;
    expect((await b.syncDue(HOUR)).map((summary) => summary.source.id)).toEqual([second.id]);
    // Past the lock's life (45 s) with no renewal: the next look, by C, takes the crawl over.
    clock += SYNC_LOCK_TTL_MS;
    const [taken] = await c.syncDue(HOUR);
    expect(taken?.source.id).toBe(first.id);
    expect(taken?.error).toBeUndefined();
    expect(await b.findSource(String(first.id))).toMatchObject({
      lastStatus: 'ok',
      lastSyncAt: new Date(clock).toISOString(),
    });
    // And nothing is due again until the next interval.
    expect((await Promise.all([b.syncDue(HOUR), c.syncDue(HOUR)])).flat()).toEqual([]);
    await a.stop();
    hold.release();
    await dying;
  });
});
