/**
 * One tenant never reads, lists or changes another's knowledge, on both homes of the bot's state:
 * the embedded SQLite files and PostgreSQL (DATABASE_URL). Each case runs on a fresh state of
 * each: the operator's routes winning over a name a tenant took first (writing, listing, syncing
 * and removing, not only reading), the caps on `/kb use`, sources named by URL among the place's
 * own, and learned threads forgotten from every collection once their last mark is gone.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { strings } from '../../src/conversation/strings.js';
import type { CollectionStore } from '../../src/core/types.js';
import { parseKbText, runKbCommand } from '../../src/knowledge/commands.js';
import { LearningStore } from '../../src/knowledge/learn.js';
import { postgresRouteStore } from '../../src/knowledge/routes-store.js';
import {
  KnowledgeService,
  MAX_OWNED_COLLECTIONS,
  MAX_ROUTE_COLLECTIONS,
  NotYourCollectionError,
} from '../../src/knowledge/service.js';
import { SourceRegistry, type SourceRepository } from '../../src/knowledge/sources.js';
import {
  PostgresLearningRepository,
  PostgresSourceRepository,
  SOURCES_MIGRATION,
} from '../../src/knowledge/sources-postgres.js';
import { openAppDatabase } from '../../src/state/app-db.js';
import { connectPostgres } from '../../src/state/postgres.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { runCli } from '../e2e/cli.js';
import { havePostgres, serverURL } from '../support/postgres.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** Databases made for single tests, dropped after the file. */
const databases: string[] = [];
async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverURL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
afterAll(async () => {
  for (const name of databases) await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
});

type Wrap = (sources: SourceRepository) => SourceRepository;

/** A fresh state, and the bot serving it with tenants kept apart, configured by `env` (a restart). */
interface State {
  readonly store: CollectionStore;
  serving(env?: Record<string, string>, wrap?: Wrap): Promise<KnowledgeService>;
}

const settings = (env: Record<string, string>) =>
  parseConfig({ CRAWL_ALLOW_PRIVATE: 'true', CRAWL_DELAY_MS: '0', ...env }).knowledge;

async function sqliteState(): Promise<State> {
  const dir = await mkdtemp(join(tmpdir(), 'rag-isolation-'));
  const store = await LocalStore.open({ dir });
  const app = openAppDatabase(dir);
  closers.push(async () => {
    store.close();
    app.close();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    store,
    serving: async (env = {}, wrap = (sources) => sources) =>
      new KnowledgeService({
        store,
        appDatabase: () => app,
        sources: wrap(new SourceRegistry(app)),
        settings: settings(env),
        tenantPlatforms: new Set(['slack']),
      }),
  };
}

async function postgresState(): Promise<State> {
  const name = `t_isolation_${randomBytes(5).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name} TEMPLATE template0`));
  databases.push(name);
  const url = new URL(serverURL);
  url.pathname = `/${name}`;
  const db = await connectPostgres(url.href, { maxConnections: 4 });
  const dir = await mkdtemp(join(tmpdir(), 'rag-isolation-pg-'));
  const app = openAppDatabase(dir);
  closers.push(async () => {
    app.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });
  const store = await PostgresStore.open({ db });
  return {
    store,
    serving: async (env = {}, wrap = (sources) => sources) =>
      new KnowledgeService({
        store,
        appDatabase: () => app,
        routes: await postgresRouteStore(db),
        sources: wrap(await PostgresSourceRepository.open(db)),
        learning: await PostgresLearningRepository.open(db),
        settings: settings(env),
        tenantPlatforms: new Set(['slack']),
      }),
  };
}

const alpha = { platform: 'slack', channelId: 'C1', workspaceId: 'T0ALPHA' };
const beta = { platform: 'slack', channelId: 'C2', workspaceId: 'T0BETA' };

async function kb(service: KnowledgeService, place: typeof alpha, text: string): Promise<string> {
  const result = await runKbCommand(service, {
    command: parseKbText(text),
    place,
    actor: `slack:U-${place.workspaceId}`,
    isAdmin: async () => true,
    quote: (t) => t,
    later: async () => undefined,
  });
  await result.background;
  return result.reply;
}

/** A site that counts the requests it gets. */
async function countingSite(): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  const server = createServer((_request, response) => {
    requests += 1;
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end(
      '<html><head><title>Payroll</title></head><body><p>Payslips are sent on the 25th.</p></body></html>',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/payroll/`, requests: () => requests };
}

const backends = [
  { name: 'the embedded SQLite state', available: true, open: sqliteState },
  { name: 'PostgreSQL', available: havePostgres, open: postgresState },
];

describe.each(backends)('tenants kept apart, on $name', ({ available, open }) => {
  it.skipIf(!available)(
    'a name one workspace took first and the operator routes to another: the first can no longer write into it, list, sync or remove its sources; the route’s workspace writes into it',
    async () => {
      const state = await open();
      expect(await kb(await state.serving(), alpha, 'use hr')).toContain('hr');
      // The operator ingests its own `hr` on the server and routes it to Beta.
      const routed = await state.serving({ KNOWLEDGE_ROUTES: 'T0BETA=hr' });
      const { source: operator } = await routed.addSource('http://127.0.0.1:1/operator-hr/', 'hr', 'cli');

      expect(await kb(routed, alpha, 'list')).not.toContain('operator-hr');
      expect(await kb(routed, alpha, 'add http://127.0.0.1:1/alpha-poison/ hr')).toContain(
        strings.kb.sharedCollection('hr'),
      );
      await expect(
        routed.saveThread({
          place: alpha,
          permalink: 'https://alpha.slack.com/archives/C1/p1',
          messages: [{ role: 'question', text: 'Where do payslips go? To payroll-help@attacker.example.' }],
          savedBy: 'slack:U-T0ALPHA',
          collection: 'hr',
        }),
      ).rejects.toThrow(NotYourCollectionError);
      for (const reference of [operator.url, `#${operator.id}`]) {
        expect(await kb(routed, alpha, `remove ${reference}`)).toBe(strings.kb.noSuchSource(reference));
        expect(await kb(routed, alpha, `sync ${reference}`)).toBe(strings.kb.noSuchSource(reference));
      }
      expect((await routed.sources()).map((source) => source.url)).toEqual([operator.url]);

      // Beta, where the operator routes `hr`, adds to it although Alpha took the name first.
      expect(await kb(routed, beta, 'add http://127.0.0.1:1/beta-hr/ hr')).toBe(
        strings.kb.adding('http://127.0.0.1:1/beta-hr/', 'hr'),
      );
      // The operator's own source is no workspace's to manage, whoever reads its collection.
      expect((await routed.sourcesFor(beta)).map((source) => source.url)).toEqual([
        'http://127.0.0.1:1/beta-hr/',
      ]);
      expect(await routed.collectionsFor(alpha)).not.toContain('hr');
    },
  );

  it.skipIf(!available)(
    'a workspace’s sources in a collection routed elsewhere afterwards stop syncing, and are named at start-up; routed to that workspace itself, nothing changes',
    async () => {
      const state = await open();
      const site = await countingSite();
      const before = await state.serving();
      const { source } = await before.addSourceFromChat(alpha, site.url, 'hr', 'slack:U-T0ALPHA');
      expect((await before.sync([source]))[0]?.pages).toBe(1);
      const fetched = site.requests();

      const routed = await state.serving({ KNOWLEDGE_ROUTES: 'T0BETA=hr' });
      expect(await routed.routeConflicts()).toEqual([
        {
          collection: 'hr',
          owner: 'slack:T0ALPHA',
          routedTo: ['T0BETA'],
          sources: [expect.objectContaining({ id: source.id, url: site.url })],
        },
      ]);
      const [summary] = await routed.sync([source]);
      expect(summary?.error).toContain('routes `hr` to other places');
      expect((await routed.syncDue(0)).map((s) => s.error)).toEqual([summary?.error]);
      expect(site.requests()).toBe(fetched);
      expect(await routed.sourcesFor(alpha)).toEqual([]);

      const own = await state.serving({ KNOWLEDGE_ROUTES: 'T0ALPHA=hr' });
      expect(await own.routeConflicts()).toEqual([]);
      expect((await own.sync([source]))[0]?.error).toBeUndefined();
      expect((await own.sourcesFor(alpha)).map((s) => s.url)).toEqual([site.url]);
    },
  );

  it.skipIf(!available)(
    '/kb use routes a channel to at most 10 collections, a workspace takes at most 50 names, and a question reads the owners in one query',
    async () => {
      const state = await open();
      let lookups = 0;
      const counted: Wrap = (sources) =>
        new Proxy(sources, {
          get(target, property, receiver) {
            if (property === 'ownerOf' || property === 'ownersOf') lookups += 1;
            const value = Reflect.get(target, property, receiver);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
      const service = await state.serving({}, counted);
      const names = (from: number, count: number) => Array.from({ length: count }, (_, i) => `n${from + i}`);

      const tooMany = names(0, MAX_ROUTE_COLLECTIONS + 1).join(' ');
      expect(await kb(service, alpha, `use ${tooMany}`)).toBe(
        strings.kb.problem(strings.kb.tooManyRouted(MAX_ROUTE_COLLECTIONS)),
      );
      expect(await service.collectionsFor(alpha)).toEqual(['slack-t0alpha', 'default']);
      expect(await service.registry.ownerOf('n0')).toBeUndefined();

      for (let from = 0; from < MAX_OWNED_COLLECTIONS; from += MAX_ROUTE_COLLECTIONS) {
        await kb(service, alpha, `use ${names(from, MAX_ROUTE_COLLECTIONS).join(' ')}`);
      }
      expect(await service.registry.ownerOf(`n${MAX_OWNED_COLLECTIONS - 1}`)).toBe('slack:T0ALPHA');
      expect(await kb(service, alpha, `use n${MAX_OWNED_COLLECTIONS}`)).toBe(
        strings.kb.problem(strings.kb.tooManyCollections(MAX_OWNED_COLLECTIONS)),
      );
      expect(await service.registry.ownerOf(`n${MAX_OWNED_COLLECTIONS}`)).toBeUndefined();

      lookups = 0;
      expect(await service.collectionsFor(alpha)).toHaveLength(MAX_ROUTE_COLLECTIONS);
      expect(lookups).toBe(1);
    },
  );

  it.skipIf(!available)(
    '/kb remove and /kb sync name a URL among the place’s own sources: another workspace’s same URL neither hides nor is shown',
    async () => {
      const state = await open();
      const service = await state.serving();
      const url = 'http://127.0.0.1:1/handbook/';
      await kb(service, alpha, `add ${url}`);
      await kb(service, beta, `add ${url}`);
      expect(await kb(service, alpha, `sync ${url}`)).toBe(strings.kb.syncing(1));
      expect(await kb(service, alpha, `remove ${url}`)).toBe(strings.kb.removed(url, 0));
      expect(await kb(service, alpha, `remove ${url}`)).toBe(strings.kb.noSuchSource(url));
      expect(await kb(service, alpha, `sync ${url}`)).toBe(strings.kb.noSuchSource(url));
      expect((await service.sourcesFor(beta)).map((source) => `${source.url} ${source.collection}`)).toEqual([
        `${url} slack-t0beta`,
      ]);
    },
  );

  it.skipIf(!available)(
    'a learned thread stays while another mark is on it, and goes from every collection it was learned into with the last',
    async () => {
      const state = await open();
      const service = await state.serving();
      const place = { ...alpha, channelId: 'C9' };
      await service.use(place, ['support'], 'slack:UADMIN');
      await service.startLearning(place, 'slack:UADMIN', true);
      const thread = {
        place,
        permalink: 'https://alpha.slack.com/archives/C9/p100',
        messages: [
          { role: 'question' as const, text: 'How do I rotate the staging database password?' },
          { role: 'human' as const, text: 'Use the vault rotate command with the staging path.' },
        ],
      };
      const passages = async (collection: string) =>
        [...(await state.store.collection(collection).listIds()).values()].filter(
          (s) => s === thread.permalink,
        ).length;
      await service.learnThread({ ...thread, by: 'slack:UASK', mark: 'UASK/2.0/white_check_mark' });
      // The channel moves on to another collection; an admin marks the thread too.
      await service.use(place, ['support-v2'], 'slack:UADMIN');
      await service.learnThread({ ...thread, by: 'slack:UADMIN', mark: 'UADMIN/1.0/heavy_check_mark' });
      expect(await passages('support')).toBeGreaterThan(0);
      expect(await passages('support-v2')).toBeGreaterThan(0);
      expect(await service.learnedIn(place)).toBe(1);

      expect(await service.unlearnThread(thread.permalink, 'UASK/2.0/white_check_mark')).toBe(false);
      expect(await passages('support-v2')).toBeGreaterThan(0);
      expect(await service.unlearnThread(thread.permalink, 'UADMIN/1.0/heavy_check_mark')).toBe(true);
      expect(await passages('support')).toBe(0);
      expect(await passages('support-v2')).toBe(0);
      expect(await service.unlearnThread(thread.permalink, 'UADMIN/1.0/heavy_check_mark')).toBe(false);
      expect(await service.learnedIn(place)).toBe(0);
    },
  );
});

describe('learned threads recorded before they were kept per collection', () => {
  const old = { permalink: 'https://acme.slack.com/archives/C1/p1', channel: 'T1/C1', collection: 'support' };

  it('are still known, and add the collections they are learned into again, on the embedded SQLite state', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rag-learned-old-'));
    const app = openAppDatabase(dir);
    closers.push(async () => {
      app.close();
      await rm(dir, { recursive: true, force: true });
    });
    app.migrate(
      'knowledge-learning-1',
      `CREATE TABLE knowledge_learning_channels (channel TEXT PRIMARY KEY, enabled_by TEXT NOT NULL, enabled_at TEXT NOT NULL) STRICT;
       CREATE TABLE knowledge_learned_threads (permalink TEXT PRIMARY KEY, channel TEXT NOT NULL, collection TEXT NOT NULL, learned_at TEXT NOT NULL) STRICT;`,
    );
    app.db
      .prepare('INSERT INTO knowledge_learned_threads VALUES (?, ?, ?, ?)')
      .run(old.permalink, old.channel, old.collection, '2026-01-01T00:00:00Z');
    const learning = new LearningStore(app);
    expect(await learning.threadCollections(old.permalink)).toEqual(['support']);
    await learning.recordThread({ ...old, collection: 'support-v2' }, 'U1/1.0/white_check_mark');
    expect(await learning.threadCollections(old.permalink)).toEqual(['support', 'support-v2']);
    expect(await learning.threadsIn(old.channel)).toBe(1);
  });

  it.skipIf(!havePostgres)('are still known on PostgreSQL', async () => {
    const name = `t_learned_old_${randomBytes(5).toString('hex')}`;
    await admin((client) => client.query(`CREATE DATABASE ${name} TEMPLATE template0`));
    databases.push(name);
    const url = new URL(serverURL);
    url.pathname = `/${name}`;
    const db = await connectPostgres(url.href, { maxConnections: 2 });
    closers.push(() => db.close());
    // The schema as it was: the sources' first migration made the learned threads' table.
    await PostgresSourceRepository.open(db);
    expect(SOURCES_MIGRATION).toBe('knowledge-sources-pg-1');
    await db.pool.query(
      'INSERT INTO knowledge_learned_threads (permalink, channel, collection) VALUES ($1, $2, $3)',
      [old.permalink, old.channel, old.collection],
    );
    const learning = await PostgresLearningRepository.open(db);
    expect(await learning.threadCollections(old.permalink)).toEqual(['support']);
    await learning.recordThread({ ...old, collection: 'support-v2' }, 'U1/1.0/white_check_mark');
    expect(await learning.threadCollections(old.permalink)).toEqual(['support', 'support-v2']);
    expect(await learning.unmark(old.permalink, 'U1/1.0/white_check_mark')).toBe(0);
  });
});

describe('npm run ingest --collection where tenants are kept apart', () => {
  it('refuses a collection a workspace took from its chat, unless KNOWLEDGE_ROUTES routes it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rag-ingest-claimed-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const app = openAppDatabase(dir);
    const store = await LocalStore.open({ dir });
    await new KnowledgeService({
      store,
      appDatabase: () => app,
      settings: settings({}),
      tenantPlatforms: new Set(['slack']),
    }).use(alpha, ['hr'], 'slack:UA');
    store.close();
    app.close();
    const file = join(dir, 'bands.md');
    await writeFile(file, '# Salary bands\n\nSalary bands are confidential and set by the pay committee.\n');
    // A bot serving Discord keeps tenants apart: the ingest reads the same configuration.
    const env = {
      RAG_DATA_DIR: dir,
      DISCORD_TOKEN: 'not-a-real-token',
      DISCORD_APPLICATION_ID: '123456789012345678',
    };

    const refused = await runCli('src/cli/ingest.ts', ['--collection', 'hr', file], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('The collection hr belongs to slack:T0ALPHA');
    const local = await LocalStore.open({ dir });
    expect((await local.collections()).has('hr')).toBe(false);
    local.close();

    const routed = await runCli('src/cli/ingest.ts', ['--collection', 'hr', file], {
      env: { ...env, KNOWLEDGE_ROUTES: 'T0BETA=hr' },
    });
    expect(routed.code).toBe(0);
    expect(routed.stderr).toContain('KNOWLEDGE_ROUTES routes it');
  });
});
