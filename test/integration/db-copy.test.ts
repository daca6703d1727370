/**
 * `npm run db:copy`: a host's embedded data moved into PostgreSQL, as a team does when it
 * outgrows one machine: the passages (every collection, ranked as before), answer records with
 * their votes, routes and sealed Slack installations; run twice, the second run copies nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Installation } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LearningStore } from '../../src/knowledge/learn.js';
import { sqliteRouteStore } from '../../src/knowledge/routes-store.js';
import { SourceRegistry } from '../../src/knowledge/sources.js';
import {
  PostgresLearningRepository,
  PostgresSourceRepository,
} from '../../src/knowledge/sources-postgres.js';
import {
  postgresRecords,
  sealedInstallationStore,
  sqliteRecords,
} from '../../src/platforms/slack/installations.js';
import { createTokenCipher } from '../../src/platforms/slack/token-crypto.js';
import { PostgresRecordStore } from '../../src/records/postgres-store.js';
import { loadPseudonymKey } from '../../src/records/pseudonyms.js';
import { RecordStore } from '../../src/records/store.js';
import { openAppDatabase } from '../../src/state/app-db.js';
import { connectPostgres, type PostgresDatabase } from '../../src/state/postgres.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { postgresTenantSettings, sqliteTenantSettings } from '../../src/tenants/settings-store.js';
import { runCli } from '../e2e/cli.js';
import { createTestDatabase, havePostgres } from '../support/postgres.js';
import { contractChunks } from './store-contract.js';

const KEY = Buffer.alloc(32, 7).toString('base64');
let dir = '';
let url = '';
let db: PostgresDatabase | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rag-db-copy-'));
  if (!havePostgres) return;
  url = await createTestDatabase('copy');
  const store = await LocalStore.open({ dir });
  await store.upsert(contractChunks);
  await store
    .collection('hr')
    .upsert([
      { id: 'bands', text: 'Salary bands are set by the pay committee.', source: 'hr.md', metadata: {} },
    ]);
  store.close();
  const app = openAppDatabase(dir);
  const records = new RecordStore(app, loadPseudonymKey(dir));
  await records.saveAnswer({
    questionId: 'q-old',
    askedAt: Date.UTC(2026, 10, 1),
    platform: 'slack',
    channelId: 'C1',
    direct: false,
    question: 'Where is the VPN guide?',
    questionHash: 'h',
    outcome: 'nothing_found',
    degraded: false,
    sources: [],
    timings: { totalMs: 120 },
  });
  await records.saveVote({
    questionId: 'q-old',
    platform: 'slack',
    userId: 'voter',
    vote: 'down',
    reason: 'stale',
    at: 5,
  });
  await sqliteRouteStore(app).set('C0HR', ['hr'], 'slack:UADMIN');
  // Two sources (the second numbered 7, as after removals) with their items, an owner, a learning channel.
  const sources = new SourceRegistry(app);
  await sources.add('https://docs.example.com/', 'docs', 'cli');
  app.db.prepare("UPDATE knowledge_sources SET id = 7 WHERE url = 'https://docs.example.com/'").run();
  await sources.addClaiming({
    url: 'https://github.com/acme/handbook',
    kind: 'git',
    collection: 'slack-t7',
    addedBy: 'slack:UADMIN',
    owner: 'slack:T7',
    tenant: 'slack:T7',
    decide: () => true,
  });
  await sources.saveState(7, { cursor: 'abc' });
  await sources.savePage(7, {
    url: 'https://docs.example.com/install',
    title: 'Install',
    etag: '"v1"',
    hash: 'h1',
    links: ['https://docs.example.com/'],
    chunkIds: ['c1', 'c2'],
  });
  await sources.recordSync(7, { status: 'ok', failures: 0 }, new Date(Date.UTC(2026, 10, 2)));
  await new LearningStore(app).enable('C0SUPPORT', 'slack:UADMIN');
  await new LearningStore(app).recordThread({
    permalink: 'https://acme.slack.com/archives/C0SUPPORT/p1',
    channel: 'C0SUPPORT',
    collection: 'slack-t7',
  });
  await sqliteTenantSettings(app).update(
    'slack',
    'T7',
    { handoff: { id: 'S0SUPPORT', label: '@support' } },
    'slack:UADMIN',
  );
  const installation = {
    team: { id: 'T7', name: 'Seven' },
    enterprise: undefined,
    user: { id: 'U1', token: undefined, scopes: undefined },
    bot: { id: 'B7', userId: 'U7', token: 'xoxb-seven', scopes: ['chat:write'] },
  } as Installation;
  await sealedInstallationStore(sqliteRecords(app), createTokenCipher(KEY)).storeInstallation(installation);
  app.close();
});
afterAll(async () => {
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!havePostgres)('npm run db:copy', () => {
  it('copies passages, records, votes, routes and installations, and copies nothing the second time', async () => {
    const env = { DATABASE_URL: url, RAG_DATA_DIR: dir };
    const first = await runCli('src/cli/db-copy.ts', [], { env, timeoutMs: 60_000 });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/passages in default\s+3 copied\s+0 already there/);
    expect(first.stdout).toMatch(/passages in hr\s+1 copied/);
    expect(first.stdout).toMatch(/answer records\s+1 copied/);
    expect(first.stdout).toMatch(/Slack installations \(sealed\)\s+1 copied/);
    expect(first.stdout).toMatch(/\/kb settings\s+1 copied/);
    expect(first.stdout).toMatch(/sources\s+2 copied/);
    expect(first.stdout).toMatch(/items synced \(pages, files, …\)\s+1 copied/);
    expect(first.stdout).toMatch(/collection owners\s+1 copied/);
    expect(first.stdout).toMatch(/threads learned\s+1 copied/);
    const again = await runCli('src/cli/db-copy.ts', [], { env, timeoutMs: 60_000 });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/passages in default\s+0 copied\s+3 already there/);
    expect(again.stdout).toMatch(/votes\s+0 copied\s+1 already there/);
    expect(again.stdout).toMatch(/pseudonym key\s+0 copied\s+1 already there/);
    expect(again.stdout).toMatch(/sources\s+0 copied\s+2 already there/);
    expect(again.stdout).toMatch(/items synced \(pages, files, …\)\s+0 copied\s+1 already there/);

    db = await connectPostgres(url, { maxConnections: 2 });
    const store = await PostgresStore.open({ db });
    const [best] = await store.search('how do I add the bot to slack', { topK: 1 });
    expect(best?.id).toBe('setup-slack');
    expect((await store.search('salary bands', { topK: 1, collections: ['hr'] }))[0]?.id).toBe('bands');
    const records = await PostgresRecordStore.open(db);
    expect((await records.answer('q-old'))?.question).toBe('Where is the VPN guide?');
    // The host's key came along: the same person has the same pseudonym in new records.
    expect(records.pseudonym('U0SAME')).toBe(
      new RecordStore(openAppDatabase(dir), loadPseudonymKey(dir)).pseudonym('U0SAME'),
    );
    expect(await records.votes(0, Date.UTC(2027, 0, 1))).toMatchObject([{ reason: 'stale' }]);
    const installations = sealedInstallationStore(await postgresRecords(db), createTokenCipher(KEY));
    const fetched = await installations.fetchInstallation({
      teamId: 'T7',
      isEnterpriseInstall: false,
      enterpriseId: undefined,
    });
    expect(fetched.bot?.token).toBe('xoxb-seven');
    // The sources kept their numbers, state, items and last sync; the owner and learning came along.
    const copied = await PostgresSourceRepository.open(db);
    expect(await copied.get(7)).toMatchObject({
      url: 'https://docs.example.com/',
      pages: 1,
      chunks: 2,
      lastStatus: 'ok',
      lastSyncAt: new Date(Date.UTC(2026, 10, 2)).toISOString(),
    });
    expect(await copied.state(7)).toEqual({ cursor: 'abc' });
    expect((await copied.pages(7))[0]).toMatchObject({ etag: '"v1"', chunkIds: ['c1', 'c2'] });
    expect(await copied.resolve('https://github.com/acme/handbook')).toMatchObject({
      kind: 'git',
      tenant: 'slack:T7',
    });
    expect(await copied.ownerOf('slack-t7')).toBe('slack:T7');
    // A source added after the copy gets a number of its own.
    expect((await copied.add('https://new.example.com/', 'docs', 'cli')).source.id).toBeGreaterThan(7);
    const learning = await PostgresLearningRepository.open(db);
    expect(await learning.channel('C0SUPPORT')).toMatchObject({ enabledBy: 'slack:UADMIN' });
    expect(await learning.threadsIn('C0SUPPORT')).toBe(1);
    expect((await (await postgresTenantSettings(db)).get('slack', 'T7')).handoff).toEqual({
      id: 'S0SUPPORT',
      label: '@support',
    });
  });

  it('says what to set when DATABASE_URL is missing, and exits 2', async () => {
    const result = await runCli('src/cli/db-copy.ts', [], { env: { RAG_DATA_DIR: dir } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Set DATABASE_URL');
  });
});

describe.skipIf(!havePostgres)('npm run db:copy into a database other workspaces already use', () => {
  let other = '';
  let otherDir = '';
  beforeAll(async () => {
    if (!havePostgres) return;
    other = await createTestDatabase('copy_owners');
    otherDir = await mkdtemp(join(tmpdir(), 'rag-db-copy-owners-'));
    // In the database (another host moved first): Alpha took `docs` from its chat.
    const pool = await connectPostgres(other, { maxConnections: 2 });
    try {
      const sources = await PostgresSourceRepository.open(pool);
      await sources.addClaiming({
        url: 'https://alpha.example.com/docs/',
        collection: 'docs',
        addedBy: 'slack:UA',
        owner: 'slack:T0ALPHA',
        tenant: 'slack:T0ALPHA',
        decide: () => true,
      });
      await (await PostgresStore.open({ db: pool }))
        .collection('docs')
        .upsert([{ id: 'alpha-1', text: 'Alpha release notes.', source: 'alpha.md', metadata: {} }]);
    } finally {
      await pool.close();
    }
    // On this host: Beta took `docs` from its chat, with a private saved thread in it.
    const store = await LocalStore.open({ dir: otherDir });
    await store.collection('docs').upsert([
      {
        id: 'beta-secret',
        text: 'Beta board minutes: the acquisition closes on 3 March.',
        source: 'https://beta.slack.com/archives/C9/p1',
        metadata: {},
      },
    ]);
    await store
      .collection('shared')
      .upsert([{ id: 's1', text: 'Shared text.', source: 's.md', metadata: {} }]);
    store.close();
    const app = openAppDatabase(otherDir);
    await new SourceRegistry(app).addClaiming({
      url: 'https://beta.example.com/docs/',
      collection: 'docs',
      addedBy: 'slack:UB',
      owner: 'slack:T0BETA',
      tenant: 'slack:T0BETA',
      decide: () => true,
    });
    app.close();
  });
  afterAll(async () => {
    await rm(otherDir, { recursive: true, force: true });
  });

  it('stops before copying anything, naming the collection and both owners, instead of merging two workspaces’ collections', async () => {
    const copy = await runCli('src/cli/db-copy.ts', [], {
      env: { DATABASE_URL: other, RAG_DATA_DIR: otherDir },
      timeoutMs: 60_000,
    });
    expect(copy.code).toBe(1);
    expect(copy.stderr).toContain('Nothing was copied');
    expect(copy.stderr).toContain('docs: slack:T0BETA here, slack:T0ALPHA in the database');
    expect(copy.stdout).not.toContain('already there');
    const pool = await connectPostgres(other, { maxConnections: 2 });
    try {
      const store = await PostgresStore.open({ db: pool });
      expect([...(await store.collection('docs').listIds()).keys()]).toEqual(['alpha-1']);
      // Nothing else either: not even the collection no one else has.
      expect((await store.collections()).has('shared')).toBe(false);
      const sources = await PostgresSourceRepository.open(pool);
      expect((await sources.list()).map((source) => source.url)).toEqual(['https://alpha.example.com/docs/']);
      expect(await sources.ownerOf('docs')).toBe('slack:T0ALPHA');
    } finally {
      await pool.close();
    }
  });
});
