/**
 * Git repositories as a source, against a real smart-HTTP server (`git http-backend` behind a
 * loopback server, test/fakes/git) with commits made by the test, read by isomorphic-git.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { publicOnly } from '../../src/knowledge/address-guard.js';
import { gitKind } from '../../src/knowledge/kinds/git.js';
import { SourceRegistry } from '../../src/knowledge/sources.js';
import { type SyncOptions, syncSource } from '../../src/knowledge/sync.js';
import { type AppDatabase, openAppDatabase } from '../../src/state/app-db.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { type FakeGitHost, startFakeGitHost, startRedirectingFront } from '../fakes/git/index.js';
import { captureLogs } from '../support/logs.js';

let host: FakeGitHost;
let dir: string;
let cacheDir: string;
let store: LocalStore;
let app: AppDatabase;
let registry: SourceRegistry;
let first: string;

const options = (extra: Partial<SyncOptions> = {}): SyncOptions => ({
  kind: gitKind,
  cacheDir,
  env: {},
  ...extra,
});
const search = (query: string, collection = 'eng') =>
  store.search(query, { topK: 3, collections: [collection] });
const uploadBytes = () =>
  host.requests
    .filter((r) => r.path.endsWith('git-upload-pack') && r.method === 'POST')
    .reduce((n, r) => n + r.bytes, 0);

beforeAll(async () => {
  host = await startFakeGitHost();
  dir = await mkdtemp(join(tmpdir(), 'rag-git-'));
  cacheDir = join(dir, 'sources');
  store = await LocalStore.open({ dir });
  app = openAppDatabase(dir);
  registry = new SourceRegistry(app);
  await host.createRepo('acme/handbook');
  first = await host.commit('acme/handbook', {
    'README.md': '# Handbook\n\nThe splendiferous repository readme, outside docs/.\n',
    'docs/install.md':
      '---\ntitle: Installing the widget\nurl: https://elsewhere.example/ignored\n---\n\n## With the frobnicator\n\nRun `frob add widget` to install the Acme widget with the frobnicator.\n',
    'docs/guide.rst':
      'Operations guide\n================\n\nRotating the flux keys\n----------------------\n\nThe flux keys are rotated every quarter by running::\n\n    acme rotate --flux\n\n.. note:: Keep the old key for a day.\n',
    'docs/notes.mdx':
      "import Tabs from '@theme/Tabs';\n\n# Release notes\n\nVersion 2 brings the zorblax dashboard.\n",
    'docs/diagram.png': 'not really a png',
    // A large file in the repository, outside what is read: fetched once, never again.
    'docs/data.txt': `# Data\n\n${'quarterly figure 42\n'.repeat(4_000)}`,
  });
});
afterAll(async () => {
  store.close();
  app.close();
  await host.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => host.clearRequests());

describe('Git repositories: a folder of a branch, synced by commit', () => {
  it('reads the Markdown, reStructuredText, MDX and text files under the path, citing each at its commit', async () => {
    const { source } = await registry.add(`${host.url}/acme/handbook/tree/main/docs`, 'eng', 'test', 'git');
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 4, updated: 0, removed: 0, failed: [] });

    const [install] = await search('How do I install the widget with the frobnicator?');
    // Front matter's title, the heading's anchor, the file on the host's web view at the commit.
    expect(install?.title).toContain('Installing the widget');
    expect(install?.url).toBe(`${host.url}/acme/handbook/blob/${first}/docs/install.md#with-the-frobnicator`);
    const [rst] = await search('rotate flux keys every quarter');
    expect(rst?.url).toBe(`${host.url}/acme/handbook/blob/${first}/docs/guide.rst#rotating-the-flux-keys`);
    expect(rst?.text).toContain('acme rotate --flux');
    expect(rst?.title).toContain('Operations guide');
    const [mdx] = await search('zorblax dashboard version');
    expect(mdx?.text).not.toContain('@theme/Tabs');
    // Outside the path, or not a text format: not read.
    expect(await search('splendiferous readme')).toEqual([]);
    expect((await registry.pages(source.id)).map((page) => page.url)).toEqual([
      'docs/data.txt',
      'docs/guide.rst',
      'docs/install.md',
      'docs/notes.mdx',
    ]);
    expect(await registry.state(source.id)).toEqual({ ref: 'main', path: 'docs', commit: first });
  });

  it('re-syncs an unchanged repository with one small fetch and reads nothing again', async () => {
    const source = (await registry.find(`${host.url}/acme/handbook/tree/main/docs`, 'eng'))!;
    const summary = await syncSource(store, registry, source, options());
    expect(summary).toMatchObject({ added: 0, updated: 0, removed: 0, unchanged: 4, chunksUpserted: 0 });
    expect(uploadBytes()).toBeLessThan(2_000);
  });

  it('after a commit, fetches only what changed: an edited file is replaced, a deleted one removed, a new one added', async () => {
    const before = uploadBytes();
    expect(before).toBe(0);
    const second = await host.commit('acme/handbook', {
      'docs/install.md':
        '---\ntitle: Installing the widget\n---\n\n## With the quuxinator\n\nRun `quux add widget` to install the Acme widget with the quuxinator.\n',
      'docs/notes.mdx': null,
      'docs/faq/zorblax.md': '# Zorblax FAQ\n\nThe zorblax glows blue when it is charged.\n',
    });
    const source = (await registry.find(`${host.url}/acme/handbook/tree/main/docs`, 'eng'))!;
    const summary = await syncSource(store, registry, source, options());
    expect(summary).toMatchObject({ added: 1, updated: 1, removed: 1, unchanged: 2, failed: [] });
    // A diff's worth of objects, not the repository again (data.txt alone is ~80 kB).
    expect(uploadBytes()).toBeLessThan(4_000);
    expect((await search('quuxinator install widget'))[0]?.url).toBe(
      `${host.url}/acme/handbook/blob/${second}/docs/install.md#with-the-quuxinator`,
    );
    expect(await search('frobnicator')).toEqual([]);
    expect(await search('zorblax dashboard release notes')).not.toEqual(
      expect.arrayContaining([expect.objectContaining({ url: expect.stringContaining('notes.mdx') })]),
    );
    expect((await search('zorblax glows blue charged'))[0]?.url).toBe(
      `${host.url}/acme/handbook/blob/${second}/docs/faq/zorblax.md`,
    );
    // The untouched file still cites the commit it was read at, where its text is the same.
    expect((await search('flux keys quarter'))[0]?.url).toContain(`/blob/${first}/docs/guide.rst`);
  });

  it('survives a lost cache (another host, a cleaned volume): fetches the tip again, re-reads nothing unchanged', async () => {
    await rm(cacheDir, { recursive: true, force: true });
    const source = (await registry.find(`${host.url}/acme/handbook/tree/main/docs`, 'eng'))!;
    const summary = await syncSource(store, registry, source, options());
    expect(summary).toMatchObject({ added: 0, updated: 0, removed: 0, unchanged: 4, chunksUpserted: 0 });
  });

  it('reads a whole repository by its .git URL on any host, citing the repository page', async () => {
    const { source } = await registry.add(`${host.url}/acme/handbook.git`, 'plain', 'test', 'git');
    const summary = await syncSource(store, registry, source, options());
    expect(summary).toMatchObject({ added: 5, failed: [] });
    const [hit] = await search('splendiferous repository readme', 'plain');
    expect(hit?.url).toBe(`${host.url}/acme/handbook`);
  });

  it('splits a branch name with slashes from the path against the server’s refs', async () => {
    await host.createRepo('acme/site');
    await host.commit('acme/site', { 'guides/start.md': '# Start\n\nBegin with the wibble onboarding.\n' });
    await host.branch('acme/site', 'release/v2');
    const { source } = await registry.add(
      `${host.url}/acme/site/tree/release/v2/guides`,
      'site',
      'test',
      'git',
    );
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(await registry.state(source.id)).toMatchObject({ ref: 'release/v2', path: 'guides' });
    expect((await search('wibble onboarding', 'site'))[0]?.url).toContain('/acme/site/blob/');
  });

  it('says which variable to set for a private repository, and which token was refused, never showing it', async () => {
    await host.createRepo('acme/private');
    await host.commit('acme/private', { 'secret.md': '# Secret\n\nThe vault opens with the walrus.\n' });
    host.requireToken('acme/private', 'right-token-123');
    const { logger, lines } = captureLogs();
    const { source } = await registry.add(`${host.url}/acme/private.git`, 'private', 'test', 'git');

    const missing = await syncSource(store, registry, source, options({ logger }));
    expect(missing.error).toMatch(
      /needs a token .*set GIT_HOST_TOKENS \(127\.0\.0\.1=<token>\), or GIT_TOKEN with 127\.0\.0\.1 in GIT_TOKEN_HOSTS/,
    );
    const revoked = await syncSource(
      store,
      registry,
      source,
      options({ logger, env: { GIT_TOKEN: 'revoked-token-456', GIT_TOKEN_HOSTS: '127.0.0.1' } }),
    );
    expect(revoked.error).toMatch(/refused the token in GIT_TOKEN /);
    expect(await registry.get(source.id)).toMatchObject({ lastStatus: 'failed' });

    // A token for this host alone wins over GIT_TOKEN.
    const ok = await syncSource(
      store,
      registry,
      source,
      options({
        logger,
        env: {
          GIT_TOKEN: 'revoked-token-456',
          GIT_HOST_TOKENS: 'example.com=other,127.0.0.1=right-token-123',
        },
      }),
    );
    expect(ok).toMatchObject({ added: 1, failed: [] });
    expect(ok.error).toBeUndefined();
    const all = `${lines.join('\n')}${JSON.stringify([missing, revoked, ok])}`;
    expect(all).not.toContain('right-token-123');
    expect(all).not.toContain('revoked-token-456');
  });

  it('with a public-only guard, sends nothing to a repository on a private address', async () => {
    const { source } = await registry.add(
      `${host.url}/acme/handbook/tree/main/docs`,
      'guarded',
      'test',
      'git',
    );
    const summary = await syncSource(store, registry, source, options({ guard: publicOnly() }));
    expect(summary.error).toMatch(/private or local address/);
    expect(host.requests).toHaveLength(0);
  });

  it('forgets its cache when the source is removed, and only its own', async () => {
    const folder = join(cacheDir, 'git');
    expect(existsSync(folder)).toBe(true);
    const source = (await registry.find(`${host.url}/acme/handbook.git`, 'plain'))!;
    // The same repository in another collection (another tenant's) has a clone of its own.
    const { source: other } = await registry.add(source.url, 'other-tenant', 'test', 'git');
    await syncSource(store, registry, other, options());
    const clones = () => readdirSync(folder).length;
    const before = clones();
    await gitKind.forget!(source, cacheDir);
    expect(clones()).toBe(before - 1);
    const summary = await syncSource(store, registry, source, options());
    expect(summary).toMatchObject({ unchanged: 5 });
  });
});

describe('Git hosts by name: the user name each takes beside a token, the links each opens', () => {
  /** Requests for a named host reach the loopback server, as DNS would send them to the host. */
  const viaLoopback: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    return fetch(new URL(`${url.pathname}${url.search}`, host.url), init);
  };
  /** Each repository's commit (made apart, so not necessarily the same). */
  const heads = new Map<string, string>();

  beforeAll(async () => {
    for (const name of ['acme/gitlabbed', 'acme/bucket', 'acme/blobbed']) {
      await host.createRepo(name);
      const head = await host.commit(name, {
        'docs/setup.md': '# Setup\n\n## Valves\n\nTurn the blorp valve clockwise to start.\n',
        'docs/other.md': '# Other\n\nThe frammis ships on Fridays.\n',
      });
      heads.set(name, head);
    }
  });

  it('GitLab: sends the token beside `oauth2`, and cites the file’s -/blob page', async () => {
    host.requireToken('acme/gitlabbed', 'glpat-secret-1', 'oauth2');
    const { source } = await registry.add(
      'https://gitlab.example.com/acme/gitlabbed.git',
      'gitlab',
      'test',
      'git',
    );
    const summary = await syncSource(
      store,
      registry,
      source,
      options({ fetch: viaLoopback, env: { GIT_HOST_TOKENS: 'gitlab.example.com=glpat-secret-1' } }),
    );
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 2, failed: [] });
    expect((await search('blorp valve clockwise', 'gitlab'))[0]?.url).toBe(
      `https://gitlab.example.com/acme/gitlabbed/-/blob/${heads.get('acme/gitlabbed')}/docs/setup.md#valves`,
    );
  });

  it('Bitbucket: reads a …/src/<branch>/<folder> link with an access token beside `x-token-auth`, citing …/src/<sha>/<path>', async () => {
    host.requireToken('acme/bucket', 'bb-access-1', 'x-token-auth');
    const url = gitKind.recognise(new URL('https://bitbucket.org/acme/bucket/src/main/docs/'), {})!;
    expect(url).toBe('https://bitbucket.org/acme/bucket/src/main/docs');
    const { source } = await registry.add(url, 'bitbucket', 'test', 'git');
    const summary = await syncSource(
      store,
      registry,
      source,
      options({ fetch: viaLoopback, env: { GIT_TOKEN: 'bb-access-1', GIT_TOKEN_HOSTS: 'bitbucket.org' } }),
    );
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 2, failed: [] });
    // Bitbucket's own heading anchors are not ours: the file, without one.
    expect((await search('blorp valve clockwise', 'bitbucket'))[0]?.url).toBe(
      `https://bitbucket.org/acme/bucket/src/${heads.get('acme/bucket')}/docs/setup.md`,
    );

    // An API token goes with the user name given beside it in GIT_HOST_TOKENS.
    host.requireToken('acme/bucket', 'bb-api-2', 'x-bitbucket-api-token-auth');
    const again = await syncSource(
      store,
      registry,
      source,
      options({
        fetch: viaLoopback,
        env: { GIT_HOST_TOKENS: 'bitbucket.org=x-bitbucket-api-token-auth:bb-api-2' },
      }),
    );
    expect(again.error).toBeUndefined();
  });

  it('GitHub: a file’s blob link reads that file alone, with the token beside `x-access-token`', async () => {
    host.requireToken('acme/blobbed', 'ghp-blob-3', 'x-access-token');
    const url = gitKind.recognise(new URL('https://github.com/acme/blobbed/blob/main/docs/setup.md'), {})!;
    const { source } = await registry.add(url, 'blob', 'test', 'git');
    const summary = await syncSource(
      store,
      registry,
      source,
      options({ fetch: viaLoopback, env: { GIT_TOKEN: 'ghp-blob-3', GIT_TOKEN_HOSTS: 'github.com' } }),
    );
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 1, failed: [] });
    expect((await registry.pages(source.id)).map((page) => page.url)).toEqual(['docs/setup.md']);
    expect((await search('blorp valve clockwise', 'blob'))[0]?.url).toBe(
      `https://github.com/acme/blobbed/blob/${heads.get('acme/blobbed')}/docs/setup.md#valves`,
    );
  });

  it('sends GIT_TOKEN only to the hosts in GIT_TOKEN_HOSTS: a repository elsewhere gets no credential', async () => {
    host.clearRequests();
    const { source } = await registry.add(
      'https://evil.example/acme/handbook.git',
      'elsewhere',
      'test',
      'git',
    );
    const summary = await syncSource(
      store,
      registry,
      source,
      options({
        fetch: viaLoopback,
        env: { GIT_TOKEN: 'ghp-for-github-only', GIT_TOKEN_HOSTS: 'github.com' },
      }),
    );
    // A public repository reads without it.
    expect(summary.error).toBeUndefined();
    expect(host.requests.length).toBeGreaterThan(0);
    expect(host.requests.filter((r) => r.authorization !== undefined)).toEqual([]);
  });

  it('never sends a token over plain http: the source fails, naming https, and the host gets nothing', async () => {
    host.clearRequests();
    const { source } = await registry.add(
      'http://gitlab.example.com/acme/gitlabbed.git',
      'plain-http',
      'test',
      'git',
    );
    const { logger, lines } = captureLogs();
    const summary = await syncSource(
      store,
      registry,
      source,
      options({ logger, fetch: viaLoopback, env: { GIT_HOST_TOKENS: 'gitlab.example.com=glpat-secret-1' } }),
    );
    expect(summary.error).toMatch(
      /is plain http: the token in GIT_HOST_TOKENS \(gitlab\.example\.com\) is sent over https only/,
    );
    expect(host.requests).toEqual([]);
    expect(`${lines.join('')}${JSON.stringify(summary)}`).not.toContain('glpat-secret-1');
  });
});

describe('redirects, as git follows them', () => {
  it('an http:// address redirected to where the repository is served: later requests go there, none to the front', async () => {
    await host.createRepo('acme/moved');
    await host.commit('acme/moved', {
      'docs/ferry.md': '# Ferry\n\nThe ferry leaves from the quoggle pier.\n',
    });
    const front = await startRedirectingFront(host.url);
    try {
      const { source } = await registry.add(`${front.url}/acme/moved.git`, 'moved', 'test', 'git');
      const summary = await syncSource(store, registry, source, options());
      expect(summary.error).toBeUndefined();
      expect(summary).toMatchObject({ added: 1, failed: [] });
      expect((await search('quoggle pier ferry', 'moved'))[0]?.text).toContain('quoggle pier');
      // Only the refs were asked of the front; the pack was POSTed to the redirected base, with its body.
      expect(front.requests).toEqual([
        { method: 'GET', path: '/acme/moved.git/info/refs?service=git-upload-pack', authorization: false },
      ]);
      expect(
        host.requests.some(
          (r) => r.method === 'POST' && r.path === '/acme/moved.git/git-upload-pack' && r.status === 200,
        ),
      ).toBe(true);
      // A re-sync after a commit fetches through the redirect again.
      await host.commit('acme/moved', {
        'docs/ferry.md': '# Ferry\n\nThe ferry leaves from the blorft dock.\n',
      });
      const again = await syncSource(store, registry, source, options());
      expect(again).toMatchObject({ updated: 1, failed: [] });
    } finally {
      await front.close();
    }
  });

  it('a renamed repository (301 to its new name on the same host): read with its token, pack POSTed to the new name', async () => {
    await host.createRepo('acme/newname');
    await host.commit('acme/newname', {
      'guide.md': '# Guide\n\nCalibrate the snarfle with the green dial.\n',
    });
    host.requireToken('acme/newname', 'renamed-token-7');
    host.rename('acme/oldname', 'acme/newname');
    const { source } = await registry.add(`${host.url}/acme/oldname.git`, 'renamed', 'test', 'git');
    const summary = await syncSource(
      store,
      registry,
      source,
      options({ env: { GIT_HOST_TOKENS: '127.0.0.1=renamed-token-7' } }),
    );
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 1, failed: [] });
    const old = host.requests.filter((r) => r.path.startsWith('/acme/oldname'));
    expect(old).toEqual([expect.objectContaining({ method: 'GET', status: 301 })]);
    const posts = host.requests.filter((r) => r.method === 'POST');
    expect(posts.length).toBeGreaterThan(0);
    expect(
      posts.every((r) => r.path === '/acme/newname.git/git-upload-pack' && r.authorized && r.status === 200),
    ).toBe(true);
  });

  it('drops the token when the refs are redirected to another origin', async () => {
    await host.createRepo('acme/guarded');
    await host.commit('acme/guarded', { 'a.md': '# A\n\nText.\n' });
    host.requireToken('acme/guarded', 'origin-token-9');
    // The front is another origin (another port): its redirect must not carry the token on.
    const front = await startRedirectingFront(host.url, 307);
    try {
      const { source } = await registry.add(`${front.url}/acme/guarded.git`, 'guarded', 'test', 'git');
      const summary = await syncSource(
        store,
        registry,
        source,
        options({ env: { GIT_HOST_TOKENS: '127.0.0.1=origin-token-9' } }),
      );
      expect(summary.error).toMatch(/HTTP 401/);
      expect(front.requests[0]?.authorization).toBe(true);
      expect(host.requests.filter((r) => r.path.startsWith('/acme/guarded'))).not.toHaveLength(0);
      expect(host.requests.every((r) => r.authorization === undefined)).toBe(true);
    } finally {
      await front.close();
    }
  });
});

describe('what a tree holds besides files: symbolic links, submodules, binary files', () => {
  it('reads regular files only: a link is neither read as its target path nor followed, a submodule is skipped, a binary .md fails alone', async () => {
    await host.createRepo('acme/links');
    await host.commit('acme/links', {
      'docs/real.md': '# Real\n\nThe real page says the gizmo needs calibrating monthly.\n',
    });
    // Links and a submodule, committed with git itself (a link's blob is its target's path).
    const work = await mkdtemp(join(tmpdir(), 'rag-git-links-'));
    const git = (...args: string[]) =>
      execFileSync('git', ['--git-dir', host.repoPath('acme/links'), '--work-tree', work, ...args], {
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@e',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@e',
        },
      });
    try {
      git('checkout', '-f', 'main', '--', '.');
      symlinkSync('/etc/passwd', join(work, 'docs', 'passwd.md'));
      symlinkSync('real.md', join(work, 'docs', 'alias.md'));
      writeFileSync(
        join(work, 'docs', 'logo.md'),
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0xff, 0xfe]),
      );
      git('add', '-A', '.');
      git('update-index', '--add', '--cacheinfo', `160000,${'e'.repeat(40)},docs/vendored.md`);
      git('commit', '-q', '-m', 'links');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    const { source } = await registry.add(`${host.url}/acme/links/tree/main/docs`, 'links', 'test', 'git');
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(summary.added).toBe(1);
    expect(summary.failed.map((f) => f.url)).toEqual(['docs/logo.md']);
    expect(summary.failed[0]?.reason).toMatch(/not UTF-8/);
    expect((await registry.pages(source.id)).map((page) => page.url)).toEqual(['docs/real.md']);
    expect(await search('etc passwd', 'links')).toEqual([]);
    expect((await search('gizmo calibrating monthly', 'links')).map((hit) => hit.url)).toEqual([
      expect.stringContaining('/docs/real.md'),
    ]);
  });
});

describe('a pack that takes its time', () => {
  /** The pack's answer (the upload-pack POST) streamed in pieces, `gapMs` apart, or stalled after its first. */
  const slowPack =
    (gapMs: number, stall = false): typeof fetch =>
    async (input, init) => {
      const response = await fetch(input, init);
      const url = input instanceof Request ? input.url : String(input);
      if (!url.endsWith('/git-upload-pack') || !response.body) return response;
      const bytes = new Uint8Array(await response.arrayBuffer());
      const size = Math.ceil(bytes.length / 40);
      let at = 0;
      const signal = init?.signal ?? undefined;
      // As fetch's own body does, it fails when the request's signal aborts.
      const pause = (ms: number) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, ms);
          signal?.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(signal.reason);
          });
        });
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (at > 0) await pause(stall ? 60_000 : gapMs);
          if (at >= bytes.length) return controller.close();
          controller.enqueue(bytes.slice(at, at + size));
          at += size;
        },
      });
      return new Response(body, { status: response.status, headers: response.headers });
    };

  it('reads a pack whose download outlasts the request time limit while it keeps arriving; a stalled one fails', async () => {
    await host.createRepo('acme/slow');
    await host.commit('acme/slow', {
      'guide.md': `# Slow guide\n\nThe slow guide explains the sloth protocol.\n\n${'Filler line.\n'.repeat(2_000)}`,
    });
    const { source } = await registry.add(`${host.url}/acme/slow.git`, 'slow', 'test', 'git');
    // 40 pieces 75 ms apart: three seconds in all, each pause well inside the 1.5 s limit.
    const summary = await syncSource(
      store,
      registry,
      source,
      options({ fetch: slowPack(75), timeoutMs: 1_500 }),
    );
    expect(summary.error).toBeUndefined();
    expect(summary.added).toBe(1);
    expect((await search('sloth protocol', 'slow'))[0]?.text).toContain('sloth protocol');

    await host.commit('acme/slow', { 'guide.md': '# Slow guide\n\nThe sloth protocol changed.\n' });
    const stalled = await syncSource(
      store,
      registry,
      source,
      options({ fetch: slowPack(0, true), timeoutMs: 1_500 }),
    );
    expect(stalled.error).toMatch(/the server sent nothing for 1.5 s/);
    expect(stalled.removed).toBe(0);
  });
});

describe('a repository whose pack inflates past the memory budget', () => {
  it('is read in a process killed past GIT_MEMORY_MB: the sync fails naming it, the bot never inflates the blob', async () => {
    // 200 MB of one byte: a download of a few hundred KB.
    await host.createRepo('acme/bomb');
    await host.commit('acme/bomb', {
      'README.md': '# Bomb\n\nA small readme beside a huge file.\n',
      'docs/huge.md': Buffer.alloc(200 * 1_048_576, 0x41) as unknown as string,
    });
    host.clearRequests();
    const { source } = await registry.add(`${host.url}/acme/bomb.git`, 'bomb', 'test', 'git');
    const summary = await syncSource(store, registry, source, options({ env: { GIT_MEMORY_MB: '64' } }));
    expect(summary.error).toMatch(/needed more than 64 MB of memory \(GIT_MEMORY_MB\)/);
    expect(host.requests.reduce((n, r) => n + r.bytes, 0)).toBeLessThan(5 * 1_048_576);
    expect(await registry.pages(source.id)).toEqual([]);
  });
});

describe('the Git reader process', () => {
  /** This process's children running the Git reader. */
  const readers = () =>
    execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes('git-child'));

  it('ends with its sync: after a sync, and after one cancelled while it fetches, none is left', async () => {
    const { source } = await registry.add(`${host.url}/acme/handbook.git`, 'reader', 'test', 'git');
    expect(await syncSource(store, registry, source, options())).toMatchObject({ failed: [] });
    expect(readers()).toEqual([]);

    await host.commit('acme/handbook', { 'docs/cancel.md': '# Cancel\n\nA file new since then.\n' });
    const controller = new AbortController();
    const seen: string[] = [];
    // Cancelled as the reader asks for the pack: the sync stops and its reader goes with it.
    const cancelling: typeof fetch = async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      seen.push(url);
      if (url.endsWith('git-upload-pack')) controller.abort();
      return fetch(input, init);
    };
    await syncSource(store, registry, source, options({ fetch: cancelling, signal: controller.signal }));
    expect(seen.some((url) => url.endsWith('git-upload-pack'))).toBe(true);
    expect(readers()).toEqual([]);
    expect((await registry.pages(source.id)).map((page) => page.url)).not.toContain('docs/cancel.md');
  });
});
