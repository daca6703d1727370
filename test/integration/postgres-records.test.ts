/**
 * Answer records in a real PostgreSQL, as instances on three hosts share them: the same
 * behaviour as the SQLite file (run against both), a vote cast through one instance on an
 * answer another gave in the report a third prints, and a digest period claimed once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresRecordStore } from '../../src/records/postgres-store.js';
import { buildReport } from '../../src/records/report.js';
import { type AnswerRecords, RecordStore, type StoredAnswer } from '../../src/records/store.js';
import { type AppDatabase, openAppDatabase } from '../../src/state/app-db.js';
import { connectPostgres, type PostgresDatabase } from '../../src/state/postgres.js';
import { createTestDatabase, havePostgres } from '../support/postgres.js';

const T = Date.UTC(2026, 10, 20);
const answer = (overrides: Partial<StoredAnswer> = {}): StoredAnswer => ({
  questionId: 'q1',
  askedAt: T,
  platform: 'slack',
  workspaceId: 'T1',
  channelId: 'C1',
  threadId: '1700000000.000100',
  direct: false,
  askerId: 'asker-pseudonym',
  question: 'How do I reset my VPN password?',
  questionHash: 'h1',
  outcome: 'nothing_found',
  degraded: false,
  sources: [{ id: 'p1', title: 'VPN', url: 'https://wiki.example/vpn' }],
  timings: { retrievalMs: 30, totalMs: 900 },
  ...overrides,
});

const databases: PostgresDatabase[] = [];
const apps: AppDatabase[] = [];
const dirs: string[] = [];
let url = '';

/** One instance's records in the shared database (its own pool, as another host has). */
async function postgresInstance(): Promise<AnswerRecords> {
  const db = await connectPostgres(url, { maxConnections: 2 });
  databases.push(db);
  return PostgresRecordStore.open(db);
}

beforeAll(async () => {
  if (havePostgres) url = await createTestDatabase('records');
});
afterAll(async () => {
  for (const app of apps) app.close();
  await Promise.all(databases.map((db) => db.close()));
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** What both homes of the records must do alike. */
function contract(name: string, open: () => Promise<AnswerRecords>) {
  describe(name, () => {
    it('keeps an answer whole, the latest vote per voter with its reason, and the first hand-off', async () => {
      const records = await open();
      await records.saveAnswer(answer({ questionId: 'k1', mode: 'groq', timings: { firstTokenMs: 250.4 } }));
      await records.setLink('k1', 'https://fake.slack.com/archives/C1/p1');
      expect(
        await records.saveVote({ questionId: 'k1', platform: 'slack', userId: 'u1', vote: 'up', at: T + 1 }),
      ).toBe(true);
      await records.saveVote({
        questionId: 'k1',
        platform: 'slack',
        userId: 'u1',
        vote: 'down',
        reason: 'wrong office',
        at: T + 2,
      });
      await records.saveVote({ questionId: 'k1', platform: 'slack', userId: 'u1', vote: 'down', at: T + 3 });
      expect(
        await records.saveVote({ questionId: 'nope', platform: 'slack', userId: 'u1', vote: 'up', at: T }),
      ).toBe(false);
      // A vote from another platform (a web visitor naming this Slack answer's id) is not kept.
      expect(
        await records.saveVote({ questionId: 'k1', platform: 'web', userId: 'u9', vote: 'down', at: T + 4 }),
      ).toBe(false);
      await records.markEscalated('k1', T + 5);
      await records.markEscalated('k1', T + 9);
      const stored = await records.answer('k1');
      expect(stored).toEqual({
        ...answer({ questionId: 'k1', mode: 'groq', timings: { firstTokenMs: 250 } }),
        link: 'https://fake.slack.com/archives/C1/p1',
        escalatedAt: T + 5,
      });
      expect((await records.votes(T, T + 1)).filter((v) => v.questionId === 'k1')).toEqual([
        { questionId: 'k1', userId: 'u1', vote: 'down', reason: 'wrong office', at: T + 3 },
      ]);
    });

    it('lists a period oldest first and deletes what is past retention with its votes', async () => {
      const records = await open();
      const base = T + 10 * 86_400_000;
      await records.saveAnswer(answer({ questionId: 'r2', askedAt: base + 2 }));
      await records.saveAnswer(answer({ questionId: 'r1', askedAt: base + 1 }));
      await records.saveAnswer(answer({ questionId: 'r0', askedAt: base - 5 }));
      await records.saveVote({
        questionId: 'r0',
        platform: 'slack',
        userId: 'u',
        vote: 'down',
        at: base - 5,
      });
      expect((await records.answers(base, base + 10)).map((a) => a.questionId)).toEqual(['r1', 'r2']);
      expect(await records.deleteBefore(base)).toBeGreaterThanOrEqual(1);
      expect(await records.answer('r0')).toBeUndefined();
      expect(await records.votes(base - 10, base)).toEqual([]);
      expect(await records.answer('r1')).toBeDefined();
    });
  });
}

contract('answer records in the SQLite file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rag-records-'));
  dirs.push(dir);
  const app = openAppDatabase(dir);
  apps.push(app);
  return new RecordStore(app, Buffer.alloc(32, 3));
});

describe.skipIf(!havePostgres)('answer records in PostgreSQL', () => {
  contract('answer records in PostgreSQL', postgresInstance);

  it('records an answer whose question, sources and 👎 reason hold NUL, which PostgreSQL text refuses, without it', async () => {
    const records = await postgresInstance();
    await records.saveAnswer(
      answer({
        questionId: 'nul-1',
        question: 'How do I\u0000 deploy?',
        standalone: 'deploy\u0000',
        sources: [{ id: 'p\u0000', title: 'Deploy\u0000guide', url: 'https://wiki.example/deploy' }],
      }),
    );
    const saved = await records.answer('nul-1');
    expect(saved?.question).toBe('How do I deploy?');
    expect(saved?.standalone).toBe('deploy');
    expect(saved?.sources).toEqual([{ id: 'p', title: 'Deployguide', url: 'https://wiki.example/deploy' }]);
    expect(
      await records.saveVote({
        questionId: 'nul-1',
        platform: 'slack',
        userId: 'u1',
        vote: 'down',
        reason: 'wrong\u0000',
        at: T + 1,
      }),
    ).toBe(true);
  });

  it('puts a vote cast through one instance, on an answer another gave, in the report run on a third', async () => {
    const [answering, voting, reporting] = [
      await postgresInstance(),
      await postgresInstance(),
      await postgresInstance(),
    ];
    // One key for every instance: a person is the same pseudonym whichever instance recorded them.
    expect(voting.pseudonym('U0ASKER')).toBe(answering.pseudonym('U0ASKER'));
    expect(voting.pseudonym('U0ASKER')).not.toBe(voting.pseudonym('U0OTHER'));
    const at = T + 40 * 86_400_000;
    await answering.saveAnswer(answer({ questionId: 'x1', askedAt: at, outcome: 'answered' }));
    expect(
      await voting.saveVote({
        questionId: 'x1',
        platform: 'slack',
        userId: 'voter',
        vote: 'down',
        reason: 'outdated',
        at,
      }),
    ).toBe(true);
    const report = await buildReport(reporting, { from: at, to: at + 1 });
    expect(report.votedDown).toHaveLength(1);
    expect(report.votedDown[0]).toMatchObject({ count: 1, reasons: ['outdated'] });
  });

  it('keeps a vote cast the moment an answer ends, before its record from another instance has landed', async () => {
    const [answering, voting] = [await postgresInstance(), await postgresInstance()];
    const at = T + 50 * 86_400_000;
    const vote = voting.saveVote({
      questionId: 'race-1',
      platform: 'slack',
      userId: 'voter',
      vote: 'down',
      at,
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await answering.saveAnswer(answer({ questionId: 'race-1', askedAt: at }));
    expect(await vote).toBe(true);
    expect(await answering.votes(at, at + 1)).toMatchObject([{ questionId: 'race-1', vote: 'down' }]);
  });

  it('lets exactly one of several instances claim a digest period', async () => {
    const instances = await Promise.all([postgresInstance(), postgresInstance(), postgresInstance()]);
    const claims = await Promise.all(
      instances.flatMap((records) => [1, 2].map(() => records.claimDigest('slack:C9', '2026-W47', T))),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    await instances[1]!.releaseDigest('slack:C9', '2026-W47');
    expect(await instances[2]!.claimDigest('slack:C9', '2026-W47', T)).toBe(true);
    await instances[2]!.digestPosted('slack:C9', '2026-W47', T + 1);
    await instances[0]!.releaseDigest('slack:C9', '2026-W47');
    expect(await instances[0]!.claimDigest('slack:C9', '2026-W47', T)).toBe(false);
  });
});

describe.skipIf(!havePostgres)('two instances starting at the same moment on a new database', () => {
  let fresh = '';
  beforeAll(async () => {
    if (havePostgres) fresh = await createTestDatabase('records_start');
  });

  it('both read the one pseudonym key, the one whose key landed while the other’s statement waited included', async () => {
    const first = await connectPostgres(fresh, { maxConnections: 2 });
    const second = await connectPostgres(fresh, { maxConnections: 2 });
    databases.push(first, second);
    await PostgresRecordStore.open(first, 'operator-secret'); // the schema, no key yet
    // The first instance's key is written but not committed when the second asks for one.
    const writer = await first.pool.connect();
    try {
      await writer.query('BEGIN');
      await writer.query("INSERT INTO rag_keys (name, value) VALUES ('pseudonym', $1)", [
        Buffer.alloc(32, 1).toString('base64'),
      ]);
      const opening = PostgresRecordStore.open(second);
      const waiting = async () => {
        const { rows } = await first.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        return rows[0]!.n > 0;
      };
      while (!(await waiting())) await new Promise((resolve) => setTimeout(resolve, 10));
      await writer.query('COMMIT');
      const records = await opening;
      await records.saveAnswer(answer({ questionId: 'q-start' }));
      expect((await records.answer('q-start'))?.questionId).toBe('q-start');
    } finally {
      writer.release();
    }
  });
});
