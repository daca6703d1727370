import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Chunk, CollectionStore } from '../../src/core/types.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { loadSqlite } from '../../src/stores/local/sqlite.js';
import { UpstashStore } from '../../src/stores/upstash.js';
import { type FakeUpstash, startFakeUpstash } from '../fakes/upstash/index.js';

const chunk = (id: string, text: string, source: string): Chunk => ({
  id,
  text,
  source,
  title: source,
  metadata: {},
});
const dirs: string[] = [];
const temp = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rag-collections-'));
  dirs.push(dir);
  return dir;
};
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

let upstash: FakeUpstash;
beforeAll(async () => {
  upstash = await startFakeUpstash();
});
afterAll(async () => {
  await upstash.close();
});

/** The contract both stores keep: collections are separate, and a search reads only those it names. */
async function contract(store: CollectionStore) {
  await store.upsert([chunk('a', 'The cafeteria opens at eight for breakfast.', 'public.md')]);
  await store
    .collection('hr')
    .upsert([chunk('a', 'Salary bands for the cafeteria staff are private.', 'hr.md')]);
  await store
    .collection('eng')
    .upsert([chunk('b', 'The cafeteria build server restarts nightly.', 'eng.md')]);

  const sources = async (collections?: string[]) =>
    (await store.search('cafeteria', { topK: 5, ...(collections ? { collections } : {}) }))
      .map((p) => p.source)
      .sort();
  expect(await sources()).toEqual(['public.md']);
  expect(await sources(['hr'])).toEqual(['hr.md']);
  expect(await sources(['hr', 'eng'])).toEqual(['eng.md', 'hr.md']);
  expect(await sources(['default', 'hr', 'eng'])).toEqual(['eng.md', 'hr.md', 'public.md']);
  expect(await sources(['nothing-here'])).toEqual([]);

  // The same id in two collections is two passages; writes stay in their collection.
  expect([...(await store.collection('hr').listIds()).keys()]).toEqual(['a']);
  expect((await store.collection('eng').stats()).vectorCount).toBe(1);
  expect(Object.fromEntries(await store.collections())).toEqual({ default: 1, hr: 1, eng: 1 });
  await store.collection('hr').reset();
  expect(await sources(['hr'])).toEqual([]);
  expect(await sources(['default', 'eng'])).toEqual(['eng.md', 'public.md']);
}

describe('collections', () => {
  it('are kept apart by the embedded store', async () => {
    const store = await LocalStore.open({ dir: await temp() });
    try {
      await contract(store);
    } finally {
      store.close();
    }
  });

  it('are namespaces of the Upstash index', async () => {
    await contract(new UpstashStore({ url: upstash.url, token: upstash.token, namespace: 'team' }));
    expect(upstash.count('team')).toBe(1);
    expect(upstash.count('team:eng')).toBe(1);
  });

  it('move an earlier store’s passages into default without re-indexing them', async () => {
    const dir = await temp();
    const { DatabaseSync } = loadSqlite();
    const old = new DatabaseSync(join(dir, 'store.sqlite'));
    old.exec(`
      CREATE TABLE store_info (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
      CREATE TABLE chunks (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, source TEXT NOT NULL,
        title TEXT, url TEXT, text TEXT NOT NULL, metadata TEXT NOT NULL) STRICT;
      CREATE VIRTUAL TABLE chunk_terms USING fts5(title, body, meta, content = '', contentless_delete = 1,
        tokenize = 'unicode61 remove_diacritics 2');
      CREATE VIRTUAL TABLE chunk_vocab USING fts5vocab(chunk_terms, 'row');
      INSERT INTO store_info VALUES ('schema', '1');
      INSERT INTO chunks VALUES (7, 'x', 'old.md', 'Old', NULL, 'Pavlova is a meringue dessert.', '{}');
      INSERT INTO chunk_terms (rowid, title, body, meta) VALUES (7, 'old', 'pavlova is a meringu dessert', 'old');
    `);
    old.close();
    const store = await LocalStore.open({ dir });
    try {
      const [hit] = await store.search('pavlova meringue', { topK: 1 });
      expect(hit?.source).toBe('old.md');
      expect(Object.fromEntries(await store.collections())).toEqual({ default: 1 });
    } finally {
      store.close();
    }
  });
});
