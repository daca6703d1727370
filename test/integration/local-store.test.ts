import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalStore, LocalStoreError } from '../../src/stores/local/index.js';
import { contractChunks, describeKnowledgeStoreContract } from './store-contract.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rag-local-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describeKnowledgeStoreContract('the embedded local store', async () =>
  LocalStore.open({ dir: await tempDir() }),
);

describe('the embedded local store on disk', () => {
  it('keeps what was ingested across restarts', async () => {
    const dir = await tempDir();
    await (await LocalStore.open({ dir })).upsert(contractChunks);
    const reopened = await LocalStore.open({ dir });
    expect((await reopened.stats()).vectorCount).toBe(3);
    const [best] = await reopened.search('install the bot in a slack workspace', { topK: 1 });
    expect(best?.id).toBe('setup-slack');
  });

  it('finds passages by word forms the question uses differently', async () => {
    const store = await LocalStore.open({ dir: await tempDir() });
    await store.upsert(contractChunks);
    const [best] = await store.search('Installing it into Slack workspaces?', { topK: 1 });
    expect(best?.id).toBe('setup-slack');
  });

  it('refuses a damaged store file with a message saying how to rebuild it', async () => {
    const dir = await tempDir();
    await (await LocalStore.open({ dir })).upsert(contractChunks);
    const file = join(dir, 'store.json');
    await writeFile(file, (await readFile(file, 'utf8')).slice(0, 100));
    const error = await LocalStore.open({ dir }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LocalStoreError);
    expect((error as Error).message).toContain('damaged');
    expect((error as Error).message).toContain(dir);
  });

  it('never leaves a half-written file behind when writes overlap', async () => {
    const dir = await tempDir();
    const store = await LocalStore.open({ dir });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.upsert([{ id: `c${i}`, text: `chunk number ${i}`, source: 's.md', metadata: {} }]),
      ),
    );
    const reopened = await LocalStore.open({ dir });
    expect((await reopened.stats()).vectorCount).toBe(20);
  });
});
