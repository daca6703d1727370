/**
 * The Slack installation store as Bolt uses it, over both homes: the bot's SQLite database
 * and a real Redis.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Installation } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/ops/redis-state.js';
import {
  NoInstallationError,
  postgresRecords,
  redisRecords,
  type SealedRecords,
  sealedInstallationStore,
  sqliteRecords,
} from '../../src/platforms/slack/installations.js';
import { createTokenCipher, InstallationKeyError } from '../../src/platforms/slack/token-crypto.js';
import { type AppDatabase, openAppDatabase } from '../../src/state/app-db.js';
import { connectPostgres, type PostgresDatabase } from '../../src/state/postgres.js';
import { createTestDatabase, havePostgres } from '../support/postgres.js';
import { haveRedis, type RedisServer, startRedis } from '../support/redis.js';

const OLD = Buffer.alloc(32, 4).toString('base64');
const NEW = Buffer.alloc(32, 5).toString('base64');

const workspace = (teamId: string, token: string): Installation => ({
  team: { id: teamId, name: `Team ${teamId}` },
  enterprise: undefined,
  user: { id: 'UINSTALLER', token: undefined, scopes: undefined },
  bot: { id: `B${teamId}`, userId: `U${teamId}`, token, scopes: ['chat:write'] },
  appId: 'A0001',
  tokenType: 'bot',
  isEnterpriseInstall: false,
  authVersion: 'v2',
});
const team = (teamId: string) => ({ teamId, enterpriseId: undefined, isEnterpriseInstall: false as const });

function contract(
  name: string,
  open: () => Promise<{ records: () => SealedRecords; raw: () => Promise<string> }>,
) {
  describe(`Slack installations in ${name}`, () => {
    let records: () => SealedRecords;
    let raw: () => Promise<string>;
    beforeAll(async () => {
      ({ records, raw } = await open());
    });

    it('stores, fetches, replaces and deletes a workspace, tokens sealed', async () => {
      const store = sealedInstallationStore(records(), createTokenCipher(OLD));
      await store.storeInstallation(workspace('T1', 'xoxb-T1-first'));
      await store.storeInstallation(workspace('T1', 'xoxb-T1-second'));
      await store.storeInstallation(workspace('T2', 'xoxb-T2-only'));
      expect((await store.fetchInstallation(team('T1'))).bot?.token).toBe('xoxb-T1-second');
      expect(await raw()).not.toMatch(/xoxb-/);
      await store.deleteInstallation(team('T1'));
      await expect(store.fetchInstallation(team('T1'))).rejects.toBeInstanceOf(NoInstallationError);
      expect((await store.fetchInstallation(team('T2'))).bot?.userId).toBe('UT2');
    });

    it('keys an org-wide install by its organisation', async () => {
      const store = sealedInstallationStore(records(), createTokenCipher(OLD));
      const org = {
        ...workspace('T9', 'xoxb-org'),
        team: undefined,
        enterprise: { id: 'E1', name: 'Org' },
        isEnterpriseInstall: true,
      } as Installation;
      await store.storeInstallation(org);
      const query = { enterpriseId: 'E1', teamId: undefined, isEnterpriseInstall: true as const };
      expect((await store.fetchInstallation(query)).bot?.token).toBe('xoxb-org');
      await store.deleteInstallation(query);
      await expect(store.fetchInstallation(query)).rejects.toThrow(/organisation E1/);
    });

    it('forgets a revoked user token and keeps the bot token', async () => {
      const store = sealedInstallationStore(records(), createTokenCipher(OLD));
      await store.storeInstallation({
        ...workspace('T3', 'xoxb-T3'),
        user: { id: 'U7', token: 'xoxp-user', scopes: ['search:read'] },
      });
      await store.forgetUserTokens(team('T3'), ['U7']);
      const after = await store.fetchInstallation(team('T3'));
      expect(after.user.token).toBeUndefined();
      expect(after.bot?.token).toBe('xoxb-T3');
    });

    it('refuses the wrong key, then rotates to a new key so the old one can go', async () => {
      const wrong = sealedInstallationStore(records(), createTokenCipher(NEW));
      await expect(wrong.checkKeys()).rejects.toBeInstanceOf(InstallationKeyError);
      await expect(wrong.checkKeys()).rejects.toThrow(/cannot open 2 of 2 stored Slack installation/);

      const rotating = sealedInstallationStore(records(), createTokenCipher(`${NEW},${OLD}`));
      expect(await rotating.checkKeys()).toEqual({ installations: 2, reencrypted: 2, damaged: [] });
      expect(await rotating.checkKeys()).toEqual({ installations: 2, reencrypted: 0, damaged: [] });

      const rotated = sealedInstallationStore(records(), createTokenCipher(NEW));
      expect((await rotated.fetchInstallation(team('T2'))).bot?.token).toBe('xoxb-T2-only');
    });

    it('a damaged installation is named with where it is stored; the other workspaces go on', async () => {
      const store = sealedInstallationStore(records(), createTokenCipher(NEW));
      await store.storeInstallation(workspace('T7', 'xoxb-T7'));
      const sealed = (await records().get('T:T7'))!;
      await records().put({ ...sealed, id: 'T:T8', teamId: 'T8', sealed: 'garbage from a bad restore' });
      const check = await store.checkKeys();
      expect(check.damaged).toHaveLength(1);
      expect(check.damaged[0]).toContain('workspace T8');
      expect(check.damaged[0]).toContain(store.description);
      expect(check.damaged[0]).toContain('must install the app again');
      expect((await store.fetchInstallation(team('T7'))).bot?.token).toBe('xoxb-T7');
      await store.deleteInstallation(team('T8'));
      await store.deleteInstallation(team('T7'));
    });
  });
}

let dataDir: string;
let appDb: AppDatabase;
contract('the bot’s SQLite database', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'rag-installations-'));
  appDb = openAppDatabase(dataDir);
  return {
    records: () => sqliteRecords(appDb),
    raw: async () => JSON.stringify(appDb.db.prepare('SELECT * FROM slack_installations').all()),
  };
});
afterAll(async () => {
  appDb?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

let redisServer: RedisServer | undefined;
let redisClient: Awaited<ReturnType<typeof connectRedis>> | undefined;
afterAll(async () => {
  redisClient?.disconnect();
  await redisServer?.stop();
});
describe.skipIf(!haveRedis)('with Redis', () => {
  it('keeps answering workspaces it has seen while Redis is down', async () => {
    const server = await startRedis();
    const redis = await connectRedis(server.url, undefined, 5_000);
    try {
      const store = sealedInstallationStore(redisRecords(redis), createTokenCipher(OLD));
      await store.storeInstallation(workspace('T5', 'xoxb-T5'));
      expect((await store.fetchInstallation(team('T5'))).bot?.token).toBe('xoxb-T5');
      await server.stop();
      expect((await store.fetchInstallation(team('T5'))).bot?.token).toBe('xoxb-T5');
      await expect(store.fetchInstallation(team('T6'))).rejects.toThrow();
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });

  contract('Redis (shared by every instance)', async () => {
    redisServer = await startRedis();
    const redis = await connectRedis(redisServer.url, undefined, 5_000);
    redisClient = redis;
    return {
      records: () => redisRecords(redis),
      raw: async () => JSON.stringify(await redis.hgetall('rag-chat-bot:slack-installations')),
    };
  });
});

let database: PostgresDatabase | undefined;
afterAll(() => database?.close());
describe.skipIf(!havePostgres)('with PostgreSQL', () => {
  contract('PostgreSQL (shared by every instance)', async () => {
    database = await connectPostgres(await createTestDatabase('installations'), { maxConnections: 2 });
    const records = await postgresRecords(database);
    return {
      records: () => records,
      raw: async () => JSON.stringify((await database!.pool.query('SELECT * FROM slack_installations')).rows),
    };
  });
});
