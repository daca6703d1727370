/**
 * Each workspace's `/kb settings`, in both homes: the bot's own SQLite database and PostgreSQL
 * (DATABASE_URL), where two instances changing two settings of one workspace at once keep both.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAppDatabase } from '../../src/state/app-db.js';
import { connectPostgres, type PostgresDatabase } from '../../src/state/postgres.js';
import {
  postgresTenantSettings,
  sqliteTenantSettings,
  type TenantSettingsStore,
} from '../../src/tenants/settings-store.js';
import { createTestDatabase, havePostgres } from '../support/postgres.js';

const SUPPORT = { id: 'S0SUPPORT', label: '@support' };
const NEWS = { id: 'C0NEWS', label: '#news' };

function contract(name: string, open: () => Promise<TenantSettingsStore>) {
  describe(name, () => {
    it('keeps each setting of each workspace apart, and clears one without the other', async () => {
      const store = await open();
      expect(await store.get('slack', 'T1')).toEqual({});
      await store.update('slack', 'T1', { handoff: SUPPORT }, 'slack:U1');
      const both = await store.update('slack', 'T1', { digest: NEWS }, 'slack:U2');
      expect(both).toEqual({ handoff: SUPPORT, digest: NEWS, updatedBy: 'slack:U2' });
      expect(await store.get('slack', 'T2')).toEqual({});
      expect(await store.get('discord', 'T1')).toEqual({});
      expect(await store.update('slack', 'T1', { handoff: null }, 'slack:U1')).toEqual({
        digest: NEWS,
        updatedBy: 'slack:U1',
      });
      await store.update('discord', 'G1', { handoff: { id: '42', label: 'Support' } }, 'discord:7');
      expect([...(await store.all('slack')).entries()]).toEqual([
        ['T1', { digest: NEWS, updatedBy: 'slack:U1' }],
      ]);
      expect((await store.all('discord')).get('G1')?.handoff).toEqual({ id: '42', label: 'Support' });
    });
  });
}

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

contract('workspace settings in app.db', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rag-tenant-settings-'));
  dirs.push(dir);
  return sqliteTenantSettings(openAppDatabase(dir));
});

describe.skipIf(!havePostgres)('workspace settings in PostgreSQL', () => {
  let url = '';
  const databases: PostgresDatabase[] = [];
  const instance = async () => {
    const db = await connectPostgres(url, { maxConnections: 2 });
    databases.push(db);
    return postgresTenantSettings(db);
  };
  beforeAll(async () => {
    url = await createTestDatabase('tenant_settings');
  });
  afterAll(() => Promise.all(databases.map((db) => db.close())));

  contract('the store', instance);

  it('keeps both of two changes made at once through two instances', async () => {
    const [a, b] = [await instance(), await instance()];
    for (let i = 0; i < 10; i++) {
      const team = `TRACE${i}`;
      await Promise.all([
        a.update('slack', team, { handoff: SUPPORT }, 'slack:UA'),
        b.update('slack', team, { digest: NEWS }, 'slack:UB'),
      ]);
      expect(await a.get('slack', team)).toMatchObject({ handoff: SUPPORT, digest: NEWS });
    }
  });
});
