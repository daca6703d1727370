/**
 * A Git source's sync ends, and its reader process with it, whatever the repository or its
 * server does: a store failing part way, a server that asks to wait an hour, a tree that names
 * the next one twice, twenty-four times over. Real git (the fake host's plumbing), the real
 * reader process and the embedded store.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollectionStore } from '../../src/core/types.js';
import { gitKind } from '../../src/knowledge/kinds/git.js';
import { SourceRegistry } from '../../src/knowledge/sources.js';
import { syncSource } from '../../src/knowledge/sync.js';
import { openAppDatabase } from '../../src/state/app-db.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { type FakeGitHost, startFakeGitHost } from '../fakes/git/index.js';
import { waitFor } from '../support/wait.js';

let host: FakeGitHost;
const dirs: string[] = [];

beforeAll(async () => {
  host = await startFakeGitHost();
});
afterAll(async () => {
  await host.close();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function fresh() {
  const dir = await mkdtemp(join(tmpdir(), 'rag-git-ends-'));
  dirs.push(dir);
  const store = await LocalStore.open({ dir });
  const registry = new SourceRegistry(openAppDatabase(dir));
  return { dir, store, registry };
}

/** Reader processes this test process started and that still run. */
const readers = () =>
  execFileSync('ps', ['-eo', 'ppid=,args='])
    .toString()
    .split('\n')
    .filter((line) => line.trim().startsWith(`${process.pid} `) && line.includes('git-child'));

describe('a Git sync', () => {
  it('ends its reader process when the store fails part way', async () => {
    await host.createRepo('acme/handbook');
    await host.commit('acme/handbook', { 'a.md': '# A\n\nAlpha.\n', 'b.md': '# B\n\nBeta.\n' });
    const { dir, store, registry } = await fresh();
    const failing = {
      ...store,
      collections: () => store.collections(),
      collection: (name: string) => {
        const collection = store.collection(name);
        return new Proxy(collection, {
          get: (target, key) =>
            key === 'upsert'
              ? async () => {
                  throw new Error('store down');
                }
              : Reflect.get(target, key, target),
        });
      },
    } as unknown as CollectionStore;
    const { source } = await registry.add(`${host.url}/acme/handbook/tree/main`, 'eng', 'test', 'git');
    const summary = await syncSource(failing, registry, source, {
      kind: gitKind,
      cacheDir: join(dir, 'git'),
      env: {},
    });
    expect(summary.error).toContain('store down');
    expect(await waitFor(() => readers().length === 0, 'no reader process left')).toBe(true);
    store.close();
  });

  it('stops at its time budget while the server asks to wait an hour', async () => {
    let requests = 0;
    const server: Server = createServer((_request, response) => {
      requests += 1;
      response.writeHead(429, { 'retry-after': '3600' }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const { dir, store, registry } = await fresh();
    const { source } = await registry.add(`http://127.0.0.1:${port}/acme/wiki.git`, 'eng', 'test', 'git');
    const summary = await syncSource(store, registry, source, {
      kind: gitKind,
      cacheDir: join(dir, 'git'),
      env: {},
      // Far longer than the reader process takes to start and ask, even on a busy machine, and
      // far shorter than the hour asked for: the sync stops at the request, not at the budget.
      budgetMs: 60_000,
    });
    expect(summary.outOfTime).toBe(true);
    expect(requests).toBe(1);
    expect(await waitFor(() => readers().length === 0, 'no reader process left')).toBe(true);
    server.close();
    store.close();
  });

  it('walks a bounded number of entries of a tree that names the next one twice, 24 times over', async () => {
    await host.createRepo('acme/bomb');
    const repo = host.repoPath('acme/bomb');
    const env = {
      ...process.env,
      GIT_AUTHOR_NAME: 'a',
      GIT_AUTHOR_EMAIL: 'a@example.com',
      GIT_COMMITTER_NAME: 'a',
      GIT_COMMITTER_EMAIL: 'a@example.com',
    };
    const git = (args: string[], input?: string) =>
      execFileSync('git', ['--git-dir', repo, ...args], { input, env })
        .toString()
        .trim();
    const blob = git(['hash-object', '-w', '--stdin'], '# Page\n\nA page of the bomb.\n');
    // Each leaf: one page and fifty images, which are walked past but not read.
    const leaf = [
      `100644 blob ${blob}\tpage.md\n`,
      ...Array.from({ length: 50 }, (_, i) => `100644 blob ${blob}\timage-${i}.png\n`),
    ];
    let tree = git(['mktree'], leaf.join(''));
    for (let level = 0; level < 24; level++) {
      tree = git(['mktree'], `040000 tree ${tree}\ta\n040000 tree ${tree}\tb\n`);
    }
    git(['update-ref', 'refs/heads/main', git(['commit-tree', tree, '-m', 'bomb'])]);
    const { dir, store, registry } = await fresh();
    const { source } = await registry.add(`${host.url}/acme/bomb/tree/main`, 'eng', 'test', 'git');
    const summary = await syncSource(store, registry, source, {
      kind: gitKind,
      cacheDir: join(dir, 'git'),
      env: {},
    });
    // 2^24 × 51 paths; the walk stops at its bound (20,000 entries) with the pages it found.
    expect(summary.error).toBeUndefined();
    expect(summary.added).toBeGreaterThan(0);
    expect(summary.added).toBeLessThan(20_000 / 51);
    store.close();
  });
});
