import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { redisRouteStore } from '../../src/knowledge/routes-store.js';
import { KnowledgeService } from '../../src/knowledge/service.js';
import { connectRedis } from '../../src/ops/redis-state.js';
import { openAppDatabase } from '../../src/state/app-db.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { haveRedis, type RedisServer, startRedis } from '../support/redis.js';

describe.skipIf(!haveRedis)(
  'knowledge routes shared through Redis by instances on different machines',
  () => {
    let server: RedisServer;
    let url: string;
    const dirs: string[] = [];
    const closers: (() => void)[] = [];

    /** One instance: its own data folder (another machine), Redis shared. */
    async function instance() {
      const dir = await mkdtemp(join(tmpdir(), 'rag-routes-'));
      dirs.push(dir);
      const store = await LocalStore.open({ dir });
      const app = openAppDatabase(dir);
      const redis = await connectRedis(url, undefined, 5_000);
      closers.push(() => {
        store.close();
        app.close();
        redis.disconnect();
      });
      return new KnowledgeService({
        store,
        appDatabase: () => app,
        routes: redisRouteStore(redis),
        settings: parseConfig({ KNOWLEDGE_ROUTES: 'C0HR=hr' }).knowledge,
      });
    }

    beforeAll(async () => {
      server = await startRedis();
      url = server.url;
    });
    afterAll(async () => {
      for (const close of closers) close();
      await server?.stop();
      await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
    });

    it('sees a /kb use made on another instance at once, and its reset too', async () => {
      const [a, b] = [await instance(), await instance()];
      const place = { platform: 'slack', channelId: 'C0HR', workspaceId: 'T1' };
      expect(await b.collectionsFor(place)).toEqual(['hr']);
      await a.use(place, ['handbook'], 'slack:UADMIN');
      expect(await b.route(place)).toMatchObject({ collections: ['handbook'], origin: 'chat' });
      await b.resetUse(place);
      expect(await a.collectionsFor(place)).toEqual(['hr']);
    });

    it('keeps answering with the last routes it saw while Redis is down, and refuses changes', async () => {
      const a = await instance();
      const place = { platform: 'slack', channelId: 'C0ENG' };
      await a.use(place, ['eng'], 'slack:UADMIN');
      expect(await a.collectionsFor(place)).toEqual(['eng']);
      await server.stop();
      expect(await a.collectionsFor(place)).toEqual(['eng']);
      await expect(a.use(place, ['other'], 'slack:UADMIN')).rejects.toThrow();
    });
  },
);
