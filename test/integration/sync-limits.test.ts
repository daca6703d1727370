/**
 * One workspace cannot hold the syncing of everyone's sources: a slow site (a long Crawl-delay,
 * sitemaps that trickle in) stops at its sync's time limit, each source is locked on its own
 * (so another workspace's `/kb add` syncs meanwhile), the lock is renewed while a sync runs and
 * frees itself when its process is gone, and a workspace may add only so many sources. Time is
 * an injected clock: nothing here waits on the wall clock.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { describeSync, KnowledgeService, NotYourCollectionError } from '../../src/knowledge/service.js';
import type { HeartbeatTimers } from '../../src/knowledge/sync-lock.js';
import { type AppDatabase, openAppDatabase } from '../../src/state/app-db.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { type FakeDocsSite, startFakeDocsSite } from '../fakes/docs-site/index.js';

let site: FakeDocsSite;
let dir: string;
let store: LocalStore;
let app: AppDatabase;
let clock = 0;
const timing = {
  now: () => clock,
  sleep: async (ms: number) => {
    clock += ms;
  },
};

beforeAll(async () => {
  site = await startFakeDocsSite();
  for (let i = 1; i <= 40; i++) {
    const n = String(i).padStart(2, '0');
    site.setPage(`/docs/page-${n}.html`, `Page ${n}`, `Page ${n} explains the quokka setting number ${n}.`);
  }
  dir = await mkdtemp(join(tmpdir(), 'rag-sync-limits-'));
  store = await LocalStore.open({ dir });
  app = openAppDatabase(dir);
});
afterAll(async () => {
  store.close();
  app.close();
  await site.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  site.clearRequests();
  site.setCrawlDelay(undefined);
  site.setExtraRobots('');
});

function service(
  env: Record<string, string> = {},
  extra: { instanceId?: string; fetch?: typeof fetch; lockTimers?: HeartbeatTimers } = {},
) {
  const knowledge: KnowledgeService = new KnowledgeService({
    store,
    appDatabase: () => app,
    settings: parseConfig({ CRAWL_ALLOW_PRIVATE: 'true', CRAWL_DELAY_MS: '0', ...env }).knowledge,
    crawl: { ...timing, ...(extra.fetch ? { fetch: extra.fetch } : {}) },
    instanceId: extra.instanceId ?? 'first',
    // The database's locks, on the test's clock.
    locks: {
      tryLock: (name, holder, ttlMs) => knowledge.registry.tryLock(name, holder, ttlMs, clock),
      renewLock: (name, holder, ttlMs) => knowledge.registry.renewLock(name, holder, ttlMs, clock),
      unlock: (name, holder) => knowledge.registry.unlock(name, holder),
    },
    ...(extra.lockTimers ? { lockTimers: extra.lockTimers } : {}),
  });
  return knowledge;
}

const MINUTE = 60_000;

/** Timers whose beats the test gives by hand. */
function manualTimers() {
  const beats: (() => void)[] = [];
  const timers: HeartbeatTimers = {
    setInterval: (run) => {
      beats.push(run);
      return run;
    },
    clearInterval: (handle) => {
      const at = beats.indexOf(handle as () => void);
      if (at >= 0) beats.splice(at, 1);
    },
  };
  const beat = () => {
    for (const run of beats) run();
  };
  return { timers, beat, running: () => beats.length };
}

describe('a sync’s time limit', () => {
  it('a Crawl-delay of 10 s on a 40-page site stops at CRAWL_SYNC_TIMEOUT_MS, keeping what it fetched', async () => {
    site.setCrawlDelay(10);
    const knowledge = service({ CRAWL_SYNC_TIMEOUT_MS: '120000' });
    const { source } = await knowledge.addSource(`${site.url}/docs/`, 'slow', 'cli');
    const startedAt = clock;
    const [summary] = await knowledge.sync([source]);
    expect(summary?.error).toBeUndefined();
    expect(summary?.outOfTime).toBe(true);
    expect(describeSync(summary!)).toContain('stopped at its time limit');
    expect((await knowledge.sources())[0]).toMatchObject({ lastStatus: 'partial' });
    // Two minutes of 10-second gaps: a dozen pages or so, not forty.
    const pages = site.requests.filter((request) => request.path.startsWith('/docs/'));
    expect(pages.length).toBeLessThanOrEqual(14);
    expect(clock - startedAt).toBeLessThanOrEqual(120_000 + 10_000);
    expect(summary!.added).toBeGreaterThan(0);
    await knowledge.removeSource((await knowledge.sources())[0]!);
  });

  it('thirty Sitemap lines that each trickle until they time out: a few are tried, then the pages are crawled', async () => {
    const sitemaps = Array.from({ length: 30 }, (_, i) => `${site.url}/s${i}.xml`);
    site.setExtraRobots(sitemaps.map((url) => `Sitemap: ${url}`).join('\n'));
    let tried = 0;
    // Each sitemap sends a byte now and then until the request's time limit cuts it off.
    const trickling: typeof fetch = async (input, init) => {
      if (/\/s\d+\.xml$/.test(String(input))) {
        tried += 1;
        clock += 15_000;
        throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
      }
      return fetch(input, init);
    };
    const knowledge = service({}, { fetch: trickling });
    const { source } = await knowledge.addSource(`${site.url}/docs/`, 'sitemaps', 'cli');
    const [summary] = await knowledge.sync([source]);
    expect(tried).toBeLessThanOrEqual(4);
    expect(summary?.error).toBeUndefined();
    expect(summary!.added).toBeGreaterThan(3);
    await knowledge.removeSource((await knowledge.sources()).find((s) => s.collection === 'sitemaps')!);
  });
});

describe('per-source locks', () => {
  it('another workspace’s source syncs while one site’s sync is held up, in this process and in another', async () => {
    const hold = site.holdPage('/docs/page-05.html');
    const first = service({}, { instanceId: 'first' });
    const slowSite = (await first.addSource(`${site.url}/docs/`, 'tenant-a', 'slack:U1')).source;
    const held = first.sync([slowSite]);
    await hold.requested;
    const page = (await first.addSource(`${site.url}/docs/page-07.html`, 'tenant-b', 'slack:U2')).source;
    // Here, and in another process on the same database.
    const [here] = await first.sync([page]);
    expect(here?.error).toBeUndefined();
    const second = service({}, { instanceId: 'second' });
    const [there] = await second.sync([(await second.findSource(String(page.id)))!]);
    expect(there?.error).toBeUndefined();
    // The held source itself is not synced twice meanwhile.
    const [twice] = await second.sync([slowSite, (await second.findSource(String(page.id)))!]);
    expect(twice?.error).toBe('busy');
    hold.release();
    const [slow] = await held;
    expect(slow?.error).toBeUndefined();
    for (const source of await first.sources()) await first.removeSource(source);
  });

  it('is renewed while its sync runs, so no other process takes it, and freed when the sync ends', async () => {
    const hold = site.holdPage('/docs/page-09.html');
    const heartbeat = manualTimers();
    const first = service({}, { instanceId: 'first', lockTimers: heartbeat.timers });
    const { source } = await first.addSource(`${site.url}/docs/`, 'renewed', 'cli');
    const lock = `source-sync:${source.id}:${source.addedAt}`;
    const syncing = first.sync([source]);
    await hold.requested;
    // The lock lives 45 seconds; the sync renews it as it goes: a minute on, still held.
    clock += 30_000;
    heartbeat.beat();
    clock += 30_000;
    expect(await first.registry.tryLock(lock, 'other', MINUTE, clock)).toBe(false);
    hold.release();
    await syncing;
    expect(heartbeat.running()).toBe(0);
    expect(await first.registry.tryLock(lock, 'other', MINUTE, clock)).toBe(true);
    await first.registry.unlock(lock, 'other');
    await first.removeSource((await first.sources())[0]!);
  });

  it('a sync whose process stalled past the lock’s life, and another took it over, stops writing', async () => {
    const hold = site.holdPage('/docs/page-11.html');
    const heartbeat = manualTimers();
    const first = service({ CRAWL_CONCURRENCY: '1' }, { instanceId: 'first', lockTimers: heartbeat.timers });
    const { source } = await first.addSource(`${site.url}/docs/`, 'taken-over', 'cli');
    const syncing = first.sync([source]);
    await hold.requested;
    const lock = `source-sync:${source.id}:${source.addedAt}`;
    // No renewal for a minute: the lock expired, and another process takes it.
    clock += MINUTE;
    expect(await first.registry.tryLock(lock, 'other', 5 * MINUTE, clock)).toBe(true);
    heartbeat.beat();
    hold.release();
    const [summary] = await syncing;
    expect(summary?.error).toBe('cancelled');
    await first.registry.unlock(lock, 'other');
    await first.removeSource((await first.sources())[0]!);
  });
});

describe('sources per workspace', () => {
  it('one workspace may add KB_MAX_SOURCES from the chat; another still may', async () => {
    const knowledge = service({ KB_MAX_SOURCES: '2' });
    const alpha = { platform: 'slack', channelId: 'C1', workspaceId: 'T0ALPHA' };
    const beta = { platform: 'slack', channelId: 'C2', workspaceId: 'T0BETA' };
    await knowledge.addSourceFromChat(alpha, `${site.url}/docs/page-01.html`, 'alpha', 'slack:U1');
    await knowledge.addSourceFromChat(alpha, `${site.url}/docs/page-02.html`, 'alpha', 'slack:U1');
    const refused = knowledge.addSourceFromChat(alpha, `${site.url}/docs/page-03.html`, 'alpha', 'slack:U1');
    await expect(refused).rejects.toBeInstanceOf(NotYourCollectionError);
    await expect(refused).rejects.toThrow(/already has 2 sources.*KB_MAX_SOURCES/);
    // Adding one it has again is no new source.
    await expect(
      knowledge.addSourceFromChat(alpha, `${site.url}/docs/page-01.html`, 'alpha', 'slack:U1'),
    ).resolves.toMatchObject({ created: false });
    await expect(
      knowledge.addSourceFromChat(beta, `${site.url}/docs/page-03.html`, 'beta', 'slack:U2'),
    ).resolves.toMatchObject({ created: true });
    for (const source of await knowledge.sources()) await knowledge.removeSource(source);
  });
});
