/**
 * The knowledge store in a real PostgreSQL: the contract every store keeps, the embedded store's
 * ranking and relevance scores reproduced passage for passage, term statistics that stay exact
 * through updates, deletes and concurrent writers on two instances, and a clear failure while
 * the server is unreachable.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRagError } from '../../src/core/failures.js';
import type { Chunk, CollectionStore, Passage } from '../../src/core/types.js';
import { loadEvalSet } from '../../src/eval/evaluate.js';
import { ingestPaths } from '../../src/ingest/pipeline.js';
import { connectPostgres, type PostgresDatabase } from '../../src/state/postgres.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { ROOT } from '../e2e/cli.js';
import { freePort } from '../support/net.js';
import { createTestDatabase, havePostgres } from '../support/postgres.js';
import { contractChunks, describeKnowledgeStoreContract } from './store-contract.js';

const databases: PostgresDatabase[] = [];
const locals: LocalStore[] = [];
const dirs: string[] = [];
let url = '';

/** A store in a schema of its own: an empty store, as a new deployment has. */
async function openStore(schema = `s_${randomBytes(4).toString('hex')}`): Promise<PostgresStore> {
  const db = await connectPostgres(url, { schema, maxConnections: 4 });
  databases.push(db);
  return PostgresStore.open({ db });
}

async function openLocal(): Promise<LocalStore> {
  const dir = await mkdtemp(join(tmpdir(), 'rag-pg-parity-'));
  dirs.push(dir);
  const store = await LocalStore.open({ dir });
  locals.push(store);
  return store;
}

beforeAll(async () => {
  if (havePostgres) url = await createTestDatabase('store');
});
afterAll(async () => {
  for (const store of locals) store.close();
  await Promise.all(databases.map((db) => db.close()));
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** What a reader compares: which passages, in which order, with which relevance. */
const shape = (passages: readonly Passage[]) =>
  passages.map((passage) => ({ id: passage.id, score: Number(passage.score.toFixed(9)) }));

async function searchBoth(a: CollectionStore, b: CollectionStore, question: string, collections?: string[]) {
  const options = { topK: 3, ...(collections ? { collections } : {}) };
  return [shape(await a.search(question, options)), shape(await b.search(question, options))];
}

describe.skipIf(!havePostgres)('the PostgreSQL store', () => {
  describeKnowledgeStoreContract('the PostgreSQL store', () => openStore());

  it('stores passages whose text, title, source and metadata hold NUL (a PDF’s text can), without it, with the rest of their batch', async () => {
    const store = await openStore();
    await store.upsert([
      {
        id: 'nul',
        source: 'manual\u0000.pdf',
        title: 'Release\u0000 train',
        text: 'The release train\u0000 leaves on Tuesdays.',
        metadata: { section: 'Trains\u0000', 'key\u0000': ['a\u0000'] },
      },
      { id: 'plain', source: 'other.md', text: 'Rollbacks need two approvals.', metadata: {} },
    ]);
    const [found] = await store.search('release train Tuesdays', { topK: 1 });
    expect(found).toMatchObject({
      id: 'nul',
      source: 'manual.pdf',
      title: 'Release train',
      text: 'The release train leaves on Tuesdays.',
      metadata: { section: 'Trains', key: ['a'] },
    });
    expect((await store.search('rollbacks approvals', { topK: 1 }))[0]?.id).toBe('plain');
  });

  it('ranks and scores every question of the eval set exactly as the embedded store does', async () => {
    const [local, postgres] = [await openLocal(), await openStore()];
    for (const store of [local, postgres]) await ingestPaths(store, [join(ROOT, 'knowledge')], { cwd: ROOT });
    const questions = await loadEvalSet(join(ROOT, 'eval/questions.json'));
    expect(questions.length).toBeGreaterThan(40);
    for (const { question } of questions) {
      const [expected, actual] = await searchBoth(local, postgres, question);
      expect({ question, passages: actual }).toEqual({ question, passages: expected });
    }
  });

  it('keeps ranking as the embedded store does after passages are replaced, deleted and a collection reset', async () => {
    const [local, postgres] = [await openLocal(), await openStore()];
    const chunk = (id: string, text: string, extra: Partial<Chunk> = {}): Chunk => ({
      id,
      text,
      source: `notes/${id}.md`,
      metadata: {},
      ...extra,
    });
    const questions = [
      'When does the cafeteria open for breakfast?',
      'Who restarts the build server?',
      'How are salary bands decided?',
      'What is fermented cabbage called?',
    ];
    for (const store of [local, postgres]) {
      await store.upsert([
        ...contractChunks,
        chunk('cafe', 'The cafeteria opens at eight for breakfast and closes at three.'),
        chunk('build', 'The build server restarts nightly; the on-call engineer restarts it by hand.'),
      ]);
      await store.collection('hr').upsert([chunk('bands', 'Salary bands are decided by the pay committee.')]);
      // Replaced text and metadata, a deleted passage, a reset collection.
      await store.upsert([
        chunk('cafe', 'The cafeteria now opens at seven for breakfast.', { metadata: { building: 'North' } }),
      ]);
      await store.delete(['setup-discord', 'no-such-id']);
      await store.collection('eng').upsert([chunk('deploy', 'The build server deploys every night.')]);
      await store.collection('eng').reset();
    }
    for (const question of questions) {
      for (const collections of [undefined, ['default', 'hr'], ['hr'], ['eng']]) {
        const [expected, actual] = await searchBoth(local, postgres, question, collections);
        expect({ question, collections, passages: actual }).toEqual({
          question,
          collections,
          passages: expected,
        });
      }
    }
    expect(Object.fromEntries(await postgres.collections())).toEqual(
      Object.fromEntries(await local.collections()),
    );
  });

  it('counts every term exactly while two instances write the same passages at once', async () => {
    const schema = `s_${randomBytes(4).toString('hex')}`;
    const [a, b] = [await openStore(schema), await openStore(schema)];
    const chunks = Array.from({ length: 600 }, (_, i) => ({
      id: `c${i}`,
      text: `Passage ${i} about shipment ${i % 37} and customs form ${i % 11} for warehouse ${i % 5}.`,
      source: `batch/${i % 9}.md`,
      metadata: {},
    }));
    await Promise.all([a.upsert(chunks), b.upsert([...chunks].reverse()), a.upsert(chunks.slice(100, 300))]);
    await b.delete(chunks.slice(0, 50).map((c) => c.id));
    const db = databases.at(-1)!;
    const { rows } = await db.pool.query<{ mismatched: number; passages: string; counted: number }>(
      `SELECT (SELECT count(*)::int FROM (
                SELECT u.lexeme AS term, count(*)::int AS n FROM knowledge_chunks, unnest(terms) u GROUP BY 1
              ) actual FULL JOIN knowledge_terms k USING (term) WHERE actual.n IS DISTINCT FROM k.passages) AS mismatched,
              (SELECT passages FROM knowledge_totals) AS passages,
              (SELECT count(*)::int FROM knowledge_chunks) AS counted`,
    );
    expect(rows[0]).toEqual({ mismatched: 0, passages: '550', counted: 550 });
    expect((await a.stats()).vectorCount).toBe(550);
  });

  it('fails a search with the knowledge base unavailable while the server is unreachable', async () => {
    const store = await openStore();
    await store.upsert(contractChunks);
    const db = databases.at(-1)!;
    // The same store through a pool whose server has gone: connections are refused.
    const port = await freePort();
    const gone = new URL(url);
    gone.port = String(port);
    const failure = await connectPostgres(gone.href, { connectTimeoutMs: 1_000 }).catch(
      (error: Error) => error,
    );
    expect(String(failure)).toContain(`PostgreSQL at 127.0.0.1:${port}`);
    expect(String(failure)).not.toContain(gone.password);
    await db.pool.end();
    const error = await store.search('slack', { topK: 3 }).catch((caught: unknown) => caught);
    expect(isRagError(error) && error.failure.kind).toBe('unavailable');
    databases.splice(databases.indexOf(db), 1);
  });

  it('gives up a search the database does not answer (a table held locked) as unavailable, and searches again once it answers', async () => {
    const schema = `s_${randomBytes(4).toString('hex')}`;
    const db = await connectPostgres(url, { schema, maxConnections: 2 });
    databases.push(db);
    const store = await PostgresStore.open({ db, searchTimeoutMs: 1_000 });
    await store.upsert(contractChunks);
    // Another session holds the passages' table (as a long migration would): the search waits.
    const holder = await db.pool.connect();
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE "${schema}".knowledge_chunks IN ACCESS EXCLUSIVE MODE`);
    try {
      const error = await store.search('slack', { topK: 3 }).catch((caught: unknown) => caught);
      expect(isRagError(error) && error.failure.kind).toBe('unavailable');
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    // The connection given up on was dropped: the next search runs on a clean one.
    expect((await store.search('slack', { topK: 3 })).length).toBeGreaterThan(0);
  });
});
