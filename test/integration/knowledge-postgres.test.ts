/**
 * The knowledge shared through PostgreSQL by instances on different machines (each with its own
 * data folder, one DATABASE_URL): passages ingested from one host are found by the others, and a
 * `/kb use` made through one instance routes the next question any instance gets.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { postgresRouteStore } from '../../src/knowledge/routes-store.js';
import { KnowledgeService } from '../../src/knowledge/service.js';
import { openAppDatabase } from '../../src/state/app-db.js';
import { connectPostgres } from '../../src/state/postgres.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { createTestDatabase, havePostgres } from '../support/postgres.js';

const closers: (() => Promise<void> | void)[] = [];
let url = '';

/** One instance: its own data folder (another machine), the database shared. */
async function instance() {
  const dir = await mkdtemp(join(tmpdir(), 'rag-pg-knowledge-'));
  const db = await connectPostgres(url, { maxConnections: 2 });
  const app = openAppDatabase(dir);
  closers.push(async () => {
    app.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });
  const store = await PostgresStore.open({ db });
  return new KnowledgeService({
    store,
    appDatabase: () => app,
    routes: await postgresRouteStore(db),
    settings: parseConfig({ KNOWLEDGE_ROUTES: 'C0HR=hr' }).knowledge,
  });
}

beforeAll(async () => {
  if (havePostgres) url = await createTestDatabase('knowledge');
});
afterAll(async () => {
  for (const close of closers) await close();
});

describe.skipIf(!havePostgres)(
  'knowledge shared through PostgreSQL by instances on different machines',
  () => {
    it('finds on every instance what another host ingested, in the collection it was put in', async () => {
      const [ingesting, a, b] = [await instance(), await instance(), await instance()];
      await ingesting.store.collection('hr').upsert([
        {
          id: 'leave',
          text: 'Parental leave is sixteen weeks, paid in full, and can start before the birth.',
          source: 'hr/leave.md',
          title: 'Parental leave',
          metadata: {},
        },
      ]);
      for (const service of [a, b]) {
        const collections = await service.collectionsFor({ platform: 'slack', channelId: 'C0HR' });
        const [found] = await service.store.search('How long is parental leave?', { topK: 3, collections });
        expect(found?.source).toBe('hr/leave.md');
      }
    });

    it('routes the next question any instance gets by a /kb use made through another, and its reset', async () => {
      const [a, b] = [await instance(), await instance()];
      const place = { platform: 'slack', channelId: 'C0HR', workspaceId: 'T1' };
      expect(await b.collectionsFor(place)).toEqual(['hr']);
      await a.use(place, ['handbook'], 'slack:UADMIN');
      expect(await b.route(place)).toMatchObject({ collections: ['handbook'], origin: 'chat' });
      expect(await b.resetUse(place)).toBe(true);
      expect(await a.collectionsFor(place)).toEqual(['hr']);
    });
  },
);
