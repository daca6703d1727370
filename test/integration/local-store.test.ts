import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RagCore } from '../../src/core/rag-core.js';
import type { AnswerEvent, Chunk } from '../../src/core/types.js';
import { ExtractiveGenerator } from '../../src/generators/extractive.js';
import { ingestPaths } from '../../src/ingest/pipeline.js';
import { LocalStore, LocalStoreError, STORE_FILE } from '../../src/stores/local/index.js';
import { ROOT, runCli } from '../e2e/cli.js';
import { waitFor } from '../support/wait.js';
import { contractChunks, describeKnowledgeStoreContract } from './store-contract.js';

const dirs: string[] = [];
const stores: LocalStore[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rag-local-'));
  dirs.push(dir);
  return dir;
}
async function open(dir: string): Promise<LocalStore> {
  const store = await LocalStore.open({ dir });
  stores.push(store);
  return store;
}
afterAll(async () => {
  for (const store of stores) store.close();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describeKnowledgeStoreContract('the embedded local store', async () => open(await tempDir()));

/** What the user would read: the answer text, or the failure's kind. */
async function ask(core: RagCore, text: string): Promise<{ text?: string; failure?: string }> {
  const events: AnswerEvent[] = [];
  for await (const event of core.answer({ id: 'q', text, place: { platform: 'terminal' } }))
    events.push(event);
  const last = events.at(-1);
  if (last?.type === 'done') return { text: last.text };
  if (last?.type === 'failure') return { failure: last.failure.kind };
  return {};
}

function records(prefix: string, count: number): string {
  return JSON.stringify(
    Array.from({ length: count }, (_, i) => ({
      id: `${prefix}-${i}`,
      text: `Record ${i} of the ${prefix} collection describes shipment ${prefix}${i} and its customs paperwork.`,
    })),
  );
}

describe('the embedded local store on disk', () => {
  it('keeps what was ingested across restarts', async () => {
    const dir = await tempDir();
    await (await open(dir)).upsert(contractChunks);
    const reopened = await open(dir);
    expect((await reopened.stats()).vectorCount).toBe(3);
    const [best] = await reopened.search('install the bot in a slack workspace', { topK: 1 });
    expect(best?.id).toBe('setup-slack');
  });

  it('finds passages by word forms the question uses differently', async () => {
    const store = await open(await tempDir());
    await store.upsert([
      ...contractChunks,
      {
        id: 'critics',
        text: 'The policy drew criticism from economists and the nation’s stations alike.',
        source: 'news.md',
        metadata: {},
      },
    ]);
    const [best] = await store.search('Installing it into Slack workspaces?', { topK: 1 });
    expect(best?.id).toBe('setup-slack');
    const [critics] = await store.search('Who criticized the policy?', { topK: 1 });
    expect(critics?.id).toBe('critics');
    expect(critics!.score).toBeGreaterThanOrEqual(store.defaultMinScore);
  });

  it('finds records by their metadata fields: foods by region', async () => {
    const store = await open(await tempDir());
    await ingestPaths(store, [join(ROOT, 'knowledge')], { cwd: ROOT });
    const found = await store.search('What foods come from Japan?', { topK: 3 });
    expect(found.length).toBe(3);
    expect(found.every((passage) => passage.metadata.region === 'Japan')).toBe(true);
    expect(found[0]!.score).toBeGreaterThanOrEqual(store.defaultMinScore);
  });

  it('says nothing is in the knowledge base for a question about something never ingested', async () => {
    const store = await open(await tempDir());
    await ingestPaths(store, [join(ROOT, 'knowledge')], { cwd: ROOT });
    const core = new RagCore({
      retriever: store,
      generator: new ExtractiveGenerator(),
      options: {
        topK: 3,
        maxQuestionChars: 2_000,
        contextTokens: 3_000,
        maxAnswerTokens: 500,
        answerTimeoutMs: 30_000,
      },
    });
    expect(await ask(core, 'What is the population of the Greater Los Angeles Area?')).toEqual({
      failure: 'nothing_found',
    });
    expect((await ask(core, 'How do I add the bot to Slack?')).text).toContain('Slack');
  });

  it('answers a question with a misspelt name, and still refuses one about a name it never saw', async () => {
    const store = await open(await tempDir());
    await store.upsert([
      ...contractChunks,
      {
        id: 'celoron',
        text: 'In 1749 Pierre-Joseph Céloron de Blainville led an expedition down the Ohio River, burying lead plates that claimed the valley for France.',
        source: 'history.md',
        metadata: {},
      },
      {
        id: 'forts',
        text: 'The French built a chain of forts from Lake Erie to the Ohio River to hold the valley against British traders.',
        source: 'history.md',
        metadata: {},
      },
    ]);
    const slipped = await store.search('Which river did Celeron explore?', { topK: 3 });
    const cleared = slipped.filter((passage) => passage.score >= store.defaultMinScore);
    expect(cleared.map((passage) => passage.id)).toEqual(['celoron']);
    const unknown = await store.search('Which river did Marquette explore?', { topK: 3 });
    expect(unknown.every((passage) => passage.score < store.defaultMinScore)).toBe(true);
  });

  it('refuses a question about a place the store never describes, answering one about a place it does', async () => {
    const store = await open(await tempDir());
    await store.upsert([
      ...contractChunks,
      {
        id: 'fresno',
        text: 'The city of Fresno is the fifth-largest in California, with a population of about 540,000, some 220 miles north of Los Angeles.',
        source: 'cities.md',
        metadata: {},
      },
    ]);
    const described = await store.search('What is the population of Fresno?', { topK: 3 });
    expect(described[0]?.id).toBe('fresno');
    expect(described[0]!.score).toBeGreaterThanOrEqual(store.defaultMinScore);
    const never = await store.search('What is the population of Bakersfield?', { topK: 3 });
    expect(never.every((passage) => passage.score < store.defaultMinScore)).toBe(true);
    // Typed in lower case, the passage's own capitals say "fresno" is a name, which outweighs
    // the question's words the store lacks.
    const typed = await store.search('how large was the population of fresno back then, roughly?', {
      topK: 3,
    });
    expect(typed[0]?.id).toBe('fresno');
    expect(typed[0]!.score).toBeGreaterThanOrEqual(store.defaultMinScore);
  });

  it('refuses a damaged store file with a message saying how to rebuild it', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, STORE_FILE), 'this is not a database, just some bytes '.repeat(200));
    const error = await LocalStore.open({ dir }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LocalStoreError);
    expect((error as Error).message).toContain('damaged');
    expect((error as Error).message).toContain(dir);
  });

  it('never loses a write when upserts overlap', async () => {
    const dir = await tempDir();
    const store = await open(dir);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.upsert([{ id: `c${i}`, text: `chunk number ${i}`, source: 's.md', metadata: {} }]),
      ),
    );
    expect((await (await open(dir)).stats()).vectorCount).toBe(20);
  });
});

describe('a JSON store left by an earlier version', () => {
  const legacyChunks: Chunk[] = contractChunks;

  it('is imported on first open, kept as store.json.imported, and not imported twice', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'store.json'),
      JSON.stringify({ version: 1, chunks: legacyChunks, index: { documentCount: 3 } }),
    );
    const store = await open(dir);
    expect((await store.stats()).vectorCount).toBe(3);
    const [best] = await store.search('fermented cabbage with chili', { topK: 1 });
    expect(best?.id).toBe('food-1');
    expect(best?.metadata.region).toBe('Korea');
    expect(existsSync(join(dir, 'store.json'))).toBe(false);
    expect(existsSync(join(dir, 'store.json.imported'))).toBe(true);

    await store.delete(['food-1']);
    expect((await (await open(dir)).stats()).vectorCount).toBe(2);
  });

  it('is left untouched, with a clear message, when it is damaged', async () => {
    const dir = await tempDir();
    const file = join(dir, 'store.json');
    const damaged = JSON.stringify({ version: 1, chunks: legacyChunks }).slice(0, 100);
    await writeFile(file, damaged);
    const error = await LocalStore.open({ dir }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LocalStoreError);
    expect((error as Error).message).toContain('damaged');
    expect((error as Error).message).toContain('npm run ingest');
    expect(await readFile(file, 'utf8')).toBe(damaged);
  });
});

/** A writer process (test/support/store-writer.ts) that starts writing when told to. */
function startWriter(dir: string, name: string, batches: number, size: number) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'test/support/store-writer.ts'), dir, name, String(batches), String(size)],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    ready: () => waitFor(() => stdout.includes('ready'), `${name} to open the store`, 60_000),
    go: () => child.stdin.end('go\n'),
    finished: async () => ({ code: await exited, stdout, stderr }),
  };
}

describe('the local store shared between processes', () => {
  it('lets two store instances in separate processes write at once while a third reads', async () => {
    const data = await tempDir();
    const reader = await open(data);
    const writers = [startWriter(data, 'left', 40, 250), startWriter(data, 'right', 40, 250)];
    await Promise.all(writers.map((writer) => writer.ready()));
    for (const writer of writers) writer.go();
    const finished = Promise.all(writers.map((writer) => writer.finished()));
    // Reading while both write: every search sees a consistent store (no error, no torn batch).
    let done = false;
    void finished.then(() => {
      done = true;
    });
    while (!done) {
      const found = await reader.search('item written by left', { topK: 3 });
      expect(found.length).toBeLessThanOrEqual(3);
      expect((await reader.stats()).vectorCount % 250).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    for (const result of await finished) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }
    expect((await reader.stats()).vectorCount).toBe(20_000);
    const ids = await reader.listIds();
    expect(ids.get('left-39-249')).toBe('left.md');
    expect(ids.get('right-39-249')).toBe('right.md');
  }, 180_000);

  it('shows a running bot what another process ingests, without a restart', async () => {
    const data = await tempDir();
    const docs = await tempDir();
    const bot = await open(data);
    const core = new RagCore({
      retriever: bot,
      generator: new ExtractiveGenerator(),
      options: {
        topK: 3,
        maxQuestionChars: 2_000,
        contextTokens: 3_000,
        maxAnswerTokens: 500,
        answerTimeoutMs: 30_000,
      },
    });
    const question = 'How often is the espresso machine descaled?';
    expect(await ask(core, question)).toEqual({ failure: 'nothing_found' });

    const file = join(docs, 'kitchen.md');
    await writeFile(file, '# Kitchen\n\nThe espresso machine is descaled every Friday by the office team.');
    const first = await runCli('src/cli/ingest.ts', [docs], {
      env: { RAG_DATA_DIR: data },
      timeoutMs: 60_000,
    });
    expect(first.code).toBe(0);
    expect((await ask(core, question)).text).toContain('every Friday');

    await writeFile(file, '# Kitchen\n\nThe espresso machine is descaled on the first Monday of each month.');
    const changed = await runCli('src/cli/ingest.ts', [docs, '--prune'], {
      env: { RAG_DATA_DIR: data },
      timeoutMs: 60_000,
    });
    expect(changed.code).toBe(0);
    const answer = (await ask(core, question)).text;
    expect(answer).toContain('first Monday');
    expect(answer).not.toContain('every Friday');
  });

  it('lands everything when two ingestions write at the same time', async () => {
    const data = await tempDir();
    const a = await tempDir();
    const b = await tempDir();
    // Several 1,000-chunk transactions each, so the two writers interleave.
    await writeFile(join(a, 'alpha.json'), records('alpha', 10_000));
    await writeFile(join(b, 'bravo.json'), records('bravo', 10_000));
    await writeFile(
      join(a, 'shared.md'),
      '# Shared\n\nBoth writers ingest this page about the loading dock.',
    );
    await writeFile(
      join(b, 'shared.md'),
      '# Shared\n\nBoth writers ingest this page about the loading dock.',
    );
    const env = { RAG_DATA_DIR: data };
    const [first, second] = await Promise.all([
      runCli('src/cli/ingest.ts', [a], { env, timeoutMs: 120_000 }),
      runCli('src/cli/ingest.ts', [b], { env, timeoutMs: 120_000 }),
    ]);
    expect(first.stderr).toBe('');
    expect(second.stderr).toBe('');
    expect([first.code, second.code]).toEqual([0, 0]);

    const store = await open(data);
    const ids = await store.listIds();
    expect([...ids.keys()].filter((id) => ids.get(id)?.endsWith('alpha.json')).length).toBe(10_000);
    expect([...ids.keys()].filter((id) => ids.get(id)?.endsWith('bravo.json')).length).toBe(10_000);
    expect((await store.stats()).vectorCount).toBe(20_002);
    const [hit] = await store.search('shipment bravo9999', { topK: 1 });
    expect(hit?.metadata.id).toBe('bravo-9999');
  }, 180_000);
});
