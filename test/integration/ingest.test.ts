import { mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Chunk, KnowledgeStore } from '../../src/core/types.js';
import { chunkDocument, chunkId } from '../../src/ingest/chunk.js';
import { loadFile } from '../../src/ingest/loaders.js';
import { type IngestProgress, ingestPaths } from '../../src/ingest/pipeline.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { UpstashStore } from '../../src/stores/upstash.js';
import { runCli } from '../e2e/cli.js';
import { type FakeUpstash, startFakeUpstash } from '../fakes/upstash/index.js';
import { tinyPdf } from '../support/files.js';
import { offlineAnswer } from '../support/offline-answer.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rag-ingest-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function write(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
  return path;
}

describe('loading documents', () => {
  it('reads markdown front matter for the title and URL', async () => {
    const doc = await loadFile(
      await write('fm.md', '---\ntitle: "Runbook"\nurl: https://wiki.example.com/runbook\n---\n\nBody.'),
    );
    expect(doc).toMatchObject({ kind: 'text', title: 'Runbook', url: 'https://wiki.example.com/runbook' });
  });

  it('turns HTML into markdown, keeping the page title and canonical URL but not scripts or navigation', async () => {
    const doc = await loadFile(
      await write(
        'page.html',
        '<html><head><title>Billing &amp; Plans</title><link rel="canonical" href="https://example.com/billing"></head>' +
          '<body><nav>Home | About</nav><h1>Billing</h1><p>Invoices are sent <b>monthly</b>.</p><script>alert(1)</script></body></html>',
      ),
    );
    expect(doc.kind).toBe('text');
    if (doc.kind !== 'text') return;
    expect(doc.title).toBe('Billing & Plans');
    expect(doc.url).toBe('https://example.com/billing');
    expect(doc.markdown).toContain('Invoices are sent **monthly**.');
    expect(doc.markdown).not.toContain('alert');
    expect(doc.markdown).not.toContain('Home | About');
  });

  it('extracts the text and title of a PDF', async () => {
    const doc = await loadFile(await write('guide.pdf', tinyPdf('Backups run nightly at two.', 'Ops Guide')));
    expect(doc.kind).toBe('text');
    if (doc.kind !== 'text') return;
    expect(doc.markdown).toContain('Backups run nightly at two.');
    expect(doc.title).toBe('Ops Guide');
  });

  it('reads JSON records in the rag_run.py shape: text from one field, the rest as metadata', async () => {
    const doc = await loadFile(
      await write(
        'foods.json',
        JSON.stringify([{ id: '7', text: 'Pho is a noodle soup.', region: 'Vietnam', type: 'Soup' }]),
      ),
    );
    expect(doc.kind).toBe('records');
    if (doc.kind !== 'records') return;
    expect(doc.records[0]).toMatchObject({
      text: 'Pho is a noodle soup.',
      title: 'foods.json #7',
      metadata: { id: '7', region: 'Vietnam', type: 'Soup' },
    });
    const other = await loadFile(
      await write('faq.json', JSON.stringify([{ answer: 'Yes.', q: 'Is it free?' }])),
      {
        textField: 'answer',
      },
    );
    expect(other.kind === 'records' && other.records[0]?.text).toBe('Yes.');
  });

  it('reads a folder of MDX, reStructuredText and AsciiDoc docs the way a synced repository does: no build code, code blocks fenced whole', async () => {
    const docs = join(dir, 'site-docs');
    await write(
      'site-docs/retries.mdx',
      [
        '---',
        'title: Retries',
        '---',
        "import Tabs from '@theme/Tabs';",
        "export const meta = { sidebar: 'guides' };",
        '',
        '# Retries',
        '',
        'Failed uploads are retried three times with a growing delay.',
      ].join('\n'),
    );
    await write(
      'site-docs/pooling.rst',
      [
        'Connection pooling',
        '==================',
        '',
        'Open a pool once and share it between requests:',
        '',
        '.. code-block:: python',
        '',
        '   pool = Pool(max_size=10)',
        '   conn = pool.acquire()',
        '',
        'Pools close idle connections after five minutes.',
      ].join('\n'),
    );
    await write(
      'site-docs/backups.adoc',
      [
        '= Backups',
        ':description: how to back up',
        '',
        '== Taking a snapshot',
        '',
        'Snapshot a running database without stopping writers:',
        '',
        '[source,js]',
        '----',
        "await db.snapshot('./backup.db');",
        '----',
      ].join('\n'),
    );
    const store = await LocalStore.open({ dir: join(dir, 'formats-store') });
    try {
      const report = await ingestPaths(store, [docs], { cwd: docs });
      expect(report.failed).toEqual([]);
      const [mdx] = await store.search('How many times are failed uploads retried?', { topK: 1 });
      expect(mdx?.title).toContain('Retries');
      expect(mdx?.text).toContain('retried three times');
      expect(mdx?.text).not.toContain('@theme/Tabs');
      expect(mdx?.text).not.toContain('sidebar');
      const found = await store.search('How do I open a connection pool?', { topK: 3 });
      const pool = found.find((passage) => passage.source.endsWith('pooling.rst'));
      expect(pool?.title).toContain('Connection pooling');
      expect(pool?.text).toContain('```python\npool = Pool(max_size=10)\nconn = pool.acquire()\n```');
      const answer = await offlineAnswer('How do I open a connection pool?', found);
      expect(answer).toContain('```python\npool = Pool(max_size=10)\nconn = pool.acquire()\n```');
      const snapshot = await store.search('How do I snapshot a running database?', { topK: 3 });
      expect(snapshot[0]?.source).toMatch(/backups\.adoc$/);
      expect(snapshot[0]?.title).toContain('Taking a snapshot');
      expect(await offlineAnswer('How do I snapshot a running database?', snapshot)).toContain(
        "```js\nawait db.snapshot('./backup.db');\n```",
      );
    } finally {
      store.close();
    }
  });

  it('explains what is wrong with a malformed file', async () => {
    await expect(loadFile(await write('bad.json', '{"oops": '))).rejects.toThrow(/invalid JSON/);
    await expect(loadFile(await write('obj.json', '{"text": "x"}'))).rejects.toThrow(/expected an array/);
    await expect(loadFile(await write('nofield.json', '[{"body": "x"}]'))).rejects.toThrow(/--text-field/);
    await expect(loadFile(await write('broken.pdf', '%PDF-1.4 garbage'))).rejects.toThrow(
      /not a readable PDF/,
    );
    await expect(loadFile(await write('image.png', 'x'))).rejects.toThrow(/unsupported file type/);
    await expect(loadFile(join(dir, 'missing.md'))).rejects.toThrow(/cannot read/);
  });
});

/** Bytes as a binary file has them: every value, NULs and invalid UTF-8 sequences included. */
function binaryJunk(bytes: number): Buffer {
  const data = Buffer.alloc(bytes);
  let seed = 7;
  for (let i = 0; i < bytes; i++) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    data[i] = seed >> 16;
  }
  return data;
}

describe('refusing what is not a document', () => {
  it('refuses binary data named .md with a clear reason, instead of ingesting mojibake', async () => {
    await expect(loadFile(await write('junk.md', binaryJunk(64 * 1024)))).rejects.toThrow(
      /not UTF-8 text: the file looks binary/,
    );
    // Valid UTF-8 can still be binary: control bytes give it away.
    const controls = Buffer.from(Array.from({ length: 4_096 }, (_, i) => (i % 3 === 0 ? i % 32 : 65)));
    await expect(loadFile(await write('controls.txt', controls))).rejects.toThrow(
      /not text: .* control characters/,
    );
    // Text with a byte-order mark, tabs and CRLF line ends is fine.
    const doc = await loadFile(await write('bom.md', '\uFEFF# Title\r\n\r\n\tIndented text.\r\n'));
    expect(doc.kind === 'text' && doc.title).toBe('Title');
  });

  it('reports the binary file as failed and ingests the rest', async () => {
    const root = await mkdtemp(join(dir, 'junk-'));
    await writeFile(join(root, 'photo.md'), binaryJunk(200 * 1024));
    await writeFile(join(root, 'real.md'), '# Real\n\nReal text about backups.');
    const store = await LocalStore.open({ dir: await mkdtemp(join(dir, 'junk-store-')) });
    const summary = await ingestPaths(store, [root], { cwd: dir });
    expect(summary.files).toBe(1);
    expect(summary.chunks).toBe(1);
    expect(summary.failed).toEqual([
      { path: expect.stringMatching(/photo\.md$/), reason: expect.stringMatching(/not UTF-8 text/) },
    ]);
  });

  it('refuses a file over the size limit before reading it, naming the size, the limit and the variable', async () => {
    const big = await write('big.txt', 'All work and no play. '.repeat(100_000));
    await expect(loadFile(big, { maxBytes: 1024 * 1024 })).rejects.toThrow(
      /too large: 2\.1 MB, over the limit of 1\.0 MB per file \(split it, or raise INGEST_MAX_FILE_MB\)/,
    );
    const doc = await loadFile(big, { maxBytes: 3 * 1024 * 1024 });
    expect(doc.kind).toBe('text');
  });

  it('uploads while it reads, so memory holds one file and a few batches rather than every chunk', async () => {
    const root = await mkdtemp(join(dir, 'stream-'));
    for (const name of ['a', 'b', 'c']) {
      const sections = Array.from(
        { length: 12 },
        (_, i) => `## ${name} part ${i}\n\nFacts about ${name} number ${i}.`,
      );
      await writeFile(join(root, `${name}.md`), `# ${name}\n\n${sections.join('\n\n')}`);
    }
    const inner = await LocalStore.open({ dir: await mkdtemp(join(dir, 'stream-store-')) });
    const uploads: number[] = [];
    let filesRead = 0;
    const store: KnowledgeStore = Object.assign(Object.create(inner) as KnowledgeStore, {
      upsert: async (chunks: readonly Chunk[]) => {
        uploads.push(filesRead);
        await inner.upsert(chunks);
      },
    });
    const progress: IngestProgress[] = [];
    const summary = await ingestPaths(store, [root], {
      cwd: dir,
      batchSize: 5,
      onProgress: (p) => {
        progress.push(p);
        if (p.phase === 'reading') filesRead = p.done;
      },
    });
    expect(summary).toMatchObject({ files: 3, chunks: 36, upserted: 36 });
    expect(uploads).toHaveLength(8);
    // The first batches went out before the last file was read.
    expect(uploads[0]).toBeLessThan(3);
    expect(progress.at(-1)).toMatchObject({ phase: 'reading', done: 3, total: 3, chunks: 36, upserted: 36 });
  });
});

describe('symbolic links in ingested folders', () => {
  it('follows links that stay inside the folders given, once per real file, and lists every other link with its reason', async () => {
    const base = await mkdtemp(join(dir, 'links-'));
    const root = join(base, 'kb');
    await mkdir(join(root, 'notes'), { recursive: true });
    await mkdir(join(root, '.drafts'), { recursive: true });
    await mkdir(join(base, 'outside'), { recursive: true });
    await writeFile(join(root, 'a.md'), '# A\n\nAlpha is the first service.');
    await writeFile(join(root, 'notes', 'b.md'), '# B\n\nBeta is the second service.');
    await writeFile(join(root, '.drafts', 'c.md'), '# C\n\nGamma is the third service.');
    await writeFile(join(base, 'outside', 'secret.md'), '# Secret\n\nNot for the bot.');
    await symlink(join(root, '.drafts', 'c.md'), join(root, 'c.md'));
    await symlink(join(root, 'notes', 'b.md'), join(root, 'alias.md'));
    await symlink(join(base, 'outside', 'secret.md'), join(root, 'secret.md'));
    await symlink(root, join(root, 'notes', 'loop'));
    await symlink(join(base, 'nowhere.md'), join(root, 'broken.md'));
    const store = await LocalStore.open({ dir: await mkdtemp(join(dir, 'links-store-')) });

    const summary = await ingestPaths(store, [root], { cwd: base });

    const sources = [...new Set((await store.listIds()).values())].sort();
    expect(sources).toEqual(['kb/a.md', 'kb/c.md', 'kb/notes/b.md']);
    expect(summary.files).toBe(3);
    expect(summary.failed).toEqual([]);
    expect([...summary.skipped].sort((x, y) => x.path.localeCompare(y.path))).toEqual([
      { path: 'kb/alias.md', reason: 'symbolic link to kb/notes/b.md, which is already included' },
      { path: 'kb/broken.md', reason: expect.stringMatching(/^broken symbolic link/) },
      { path: 'kb/notes/loop', reason: 'symbolic link to kb, which is already included' },
      {
        path: 'kb/secret.md',
        reason: expect.stringMatching(/^symbolic link to a place outside the folders given/),
      },
    ]);
  });

  it('takes a link into another folder that is named too, reading each file once under its own name', async () => {
    const base = await mkdtemp(join(dir, 'links2-'));
    await mkdir(join(base, 'kb'), { recursive: true });
    await mkdir(join(base, 'shared'), { recursive: true });
    await writeFile(join(base, 'shared', 'policy.md'), '# Policy\n\nLeave is booked in the HR tool.');
    await symlink(join(base, 'shared'), join(base, 'kb', 'shared'));
    const store = await LocalStore.open({ dir: await mkdtemp(join(dir, 'links2-store-')) });
    const summary = await ingestPaths(store, ['kb', 'shared'], { cwd: base });
    expect(summary.files).toBe(1);
    expect([...new Set((await store.listIds()).values())]).toEqual(['shared/policy.md']);
    expect(summary.skipped).toEqual([
      { path: 'kb/shared', reason: 'symbolic link to shared, which is already included' },
    ]);
  });
});

describe('chunking', () => {
  const markdown = [
    '# Handbook',
    '',
    '## Deploying',
    '',
    Array.from({ length: 30 }, (_, i) => `Deployment step ${i} happens after the previous one.`).join(' '),
    '',
    'A second paragraph about deployments.',
    '',
    '```sh',
    'npm run deploy',
    '```',
    '',
    '## Rollback',
    '',
    'Roll back with the previous image tag.',
  ].join('\n');

  it('follows headings, keeps each chunk within the size limit, and records the heading path and URL anchor', () => {
    const chunks = chunkDocument(
      { kind: 'text', title: 'Handbook', url: 'https://wiki/handbook', markdown },
      'docs/handbook.md',
      { maxChars: 600 },
    );
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) expect(chunk.text.length).toBeLessThanOrEqual(600 + 250);
    const rollback = chunks.find((chunk) => chunk.text.includes('Roll back'))!;
    expect(rollback.title).toBe('Handbook › Rollback');
    expect(rollback.url).toBe('https://wiki/handbook#rollback');
    expect(rollback.source).toBe('docs/handbook.md');
    // Code blocks stay whole.
    expect(chunks.some((chunk) => chunk.text.includes('```sh\nnpm run deploy\n```'))).toBe(true);
  });

  it('overlaps consecutive chunks of a section by a sentence so no fact falls between them', () => {
    const chunks = chunkDocument({ kind: 'text', title: 'Handbook', markdown }, 'docs/handbook.md', {
      maxChars: 400,
    });
    const deploying = chunks.filter((chunk) => chunk.title === 'Handbook › Deploying');
    expect(deploying.length).toBeGreaterThan(1);
    const lastSentence =
      deploying[0]!.text
        .match(/[^.!?\n]+[.!?]+/g)
        ?.at(-1)
        ?.trim() ?? '';
    expect(lastSentence.length).toBeGreaterThan(0);
    expect(deploying[1]!.text).toContain(lastSentence);
  });

  it('gives the same text from the same source the same id, and any change a new one', () => {
    expect(chunkId('a.md', 'hello')).toBe(chunkId('a.md', 'hello'));
    expect(chunkId('a.md', 'hello')).not.toBe(chunkId('a.md', 'hello!'));
    expect(chunkId('a.md', 'hello')).not.toBe(chunkId('b.md', 'hello'));
  });
});

function describePipeline(name: string, open: () => Promise<KnowledgeStore>) {
  describe(`ingesting into ${name}`, () => {
    it('is idempotent, prunes what changed or vanished, and lands everything else when one file is bad', async () => {
      const root = await mkdtemp(join(dir, 'kb-'));
      await writeFile(join(root, 'a.md'), '# A\n\nAlpha facts about the alpha service.');
      await writeFile(join(root, 'b.md'), '# B\n\nBeta facts about the beta service.');
      await writeFile(
        join(root, 'foods.json'),
        JSON.stringify([{ id: '1', text: 'Kimchi is fermented cabbage.' }]),
      );
      await writeFile(join(root, 'bad.json'), '[{');
      const store = await open();

      const first = await ingestPaths(store, [root], { cwd: dir });
      expect(first).toMatchObject({ files: 3, chunks: 3, upserted: 3, unchanged: 0, removed: 0 });
      expect(first.failed).toEqual([
        { path: expect.stringMatching(/bad\.json$/), reason: expect.stringMatching(/invalid JSON/) },
      ]);

      const second = await ingestPaths(store, [root], { cwd: dir });
      expect(second).toMatchObject({ upserted: 0, unchanged: 3, removed: 0 });
      expect((await store.stats()).vectorCount).toBe(3);

      await writeFile(join(root, 'a.md'), '# A\n\nAlpha facts, revised.');
      await unlink(join(root, 'b.md'));
      const withoutPrune = await ingestPaths(store, [root], { cwd: dir });
      expect(withoutPrune).toMatchObject({ upserted: 1, removed: 0 });
      const pruned = await ingestPaths(store, [root], { cwd: dir, prune: true });
      expect(pruned).toMatchObject({ upserted: 0, removed: 2 });
      const sources = [...(await store.listIds()).values()].sort();
      expect(sources).toEqual([expect.stringMatching(/a\.md$/), expect.stringMatching(/foods\.json$/)]);
      const [best] = await store.search('alpha facts revised', { topK: 1 });
      expect(best?.text).toContain('revised');
    });
  });
}

let upstash: FakeUpstash;
let namespace = 0;
beforeAll(async () => {
  upstash = await startFakeUpstash();
});
afterAll(() => upstash.close());

describePipeline('the local store', async () => LocalStore.open({ dir: await mkdtemp(join(dir, 'store-')) }));
describePipeline(
  'Upstash Vector',
  async () =>
    new UpstashStore({ url: upstash.url, token: upstash.token, namespace: `ingest-${++namespace}` }),
);

describe('npm run ingest', () => {
  it('prints the summary, names each failed file with its reason, and exits 1 when a file failed', async () => {
    const root = await mkdtemp(join(dir, 'cli-'));
    await writeFile(join(root, 'ok.md'), '# OK\n\nFine content.');
    await writeFile(join(root, 'bad.json'), 'nope');
    const data = await mkdtemp(join(dir, 'cli-data-'));
    const result = await runCli('src/cli/ingest.ts', [root], { env: { RAG_DATA_DIR: data } });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/files\s+1/);
    expect(result.stdout).toMatch(/upserted\s+1/);
    expect(result.stdout).toMatch(/bad\.json: invalid JSON/);
    expect(result.stdout).toContain('Failed (left out; the other 1 file landed):');
    const again = await runCli('src/cli/ingest.ts', [join(root, 'ok.md')], { env: { RAG_DATA_DIR: data } });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/unchanged\s+1/);
  });

  it('says nothing landed when every path failed, a path that does not exist included, and exits 1', async () => {
    const data = await mkdtemp(join(dir, 'cli-none-'));
    const missing = join(dir, 'no-such-folder');
    const result = await runCli('src/cli/ingest.ts', [missing], { env: { RAG_DATA_DIR: data } });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^Nothing was ingested into local store/);
    expect(result.stdout).toContain(`Failed:\n  ${missing}: no such file or folder`);
    expect(result.stdout).not.toMatch(/landed/);
    const root = await mkdtemp(join(dir, 'cli-none-kb-'));
    await writeFile(join(root, 'a.json'), 'nope');
    const both = await runCli('src/cli/ingest.ts', [root, missing], { env: { RAG_DATA_DIR: data } });
    expect(both.code).toBe(1);
    expect(both.stdout).toContain('Failed (all 2):');
    expect(both.stdout).not.toMatch(/landed/);
  });

  it('says when nothing ingestible was found (only unsupported files), and exits 1', async () => {
    const data = await mkdtemp(join(dir, 'cli-empty-'));
    const root = await mkdtemp(join(dir, 'cli-empty-kb-'));
    await writeFile(join(root, 'photo.png'), 'not a document');
    const result = await runCli('src/cli/ingest.ts', [root], { env: { RAG_DATA_DIR: data } });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^Nothing was ingested into local store/);
    expect(result.stdout).toContain('Skipped 1 file(s) of unsupported types');
    expect(result.stdout).toContain(
      'No document to ingest was found there: name files or folders holding Markdown, plain text, HTML, PDF or JSON documents',
    );
  });

  it('refuses --reset without confirmation when not at a terminal, and deletes nothing', async () => {
    const data = await mkdtemp(join(dir, 'cli-reset-'));
    const root = await mkdtemp(join(dir, 'cli-reset-kb-'));
    await writeFile(join(root, 'ok.md'), '# OK\n\nKeep me.');
    await runCli('src/cli/ingest.ts', [root], { env: { RAG_DATA_DIR: data } });
    const refused = await runCli('src/cli/ingest.ts', ['--reset'], { env: { RAG_DATA_DIR: data } });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--yes');
    expect((await (await LocalStore.open({ dir: data })).stats()).vectorCount).toBe(1);
    const confirmed = await runCli('src/cli/ingest.ts', ['--reset', '--yes'], {
      env: { RAG_DATA_DIR: data },
    });
    expect(confirmed.code).toBe(0);
    expect((await (await LocalStore.open({ dir: data })).stats()).vectorCount).toBe(0);
  });

  it('stops with the store failure when Upstash rejects the token, exit 2, no stack trace', async () => {
    const root = await mkdtemp(join(dir, 'cli-up-'));
    await writeFile(join(root, 'ok.md'), '# OK\n\nContent.');
    const result = await runCli('src/cli/ingest.ts', [root], {
      env: { UPSTASH_VECTOR_REST_URL: upstash.url, UPSTASH_VECTOR_REST_TOKEN: 'wrong' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('UPSTASH_VECTOR_REST_TOKEN');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('names a file over INGEST_MAX_FILE_MB and a link it did not follow, and ingests the rest', async () => {
    const root = await mkdtemp(join(dir, 'cli-limits-'));
    await writeFile(join(root, 'ok.md'), '# OK\n\nFine content.');
    await writeFile(join(root, 'huge.txt'), 'x '.repeat(800_000));
    await symlink(join(dir, 'nowhere.md'), join(root, 'dangling.md'));
    const data = await mkdtemp(join(dir, 'cli-limits-data-'));
    const result = await runCli('src/cli/ingest.ts', [root], {
      env: { RAG_DATA_DIR: data, INGEST_MAX_FILE_MB: '1' },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/files\s+1/);
    expect(result.stdout).toMatch(/huge\.txt: too large: 1\.5 MB, over the limit of 1\.0 MB per file/);
    expect(result.stdout).toMatch(/dangling\.md: broken symbolic link/);
  });

  it('explains usage when no path is given', async () => {
    const result = await runCli('src/cli/ingest.ts', []);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Name at least one file or folder');
  });
});
