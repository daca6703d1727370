/**
 * GitHub issues and discussions as a source: the real Octokit against a loopback fake of
 * GitHub's REST and GraphQL APIs, with pagination, ETags, rate limits on an injected clock,
 * a renamed repository, deleted and transferred issues, and a revoked token.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { githubKind } from '../../src/knowledge/kinds/github.js';
import { SourceRegistry } from '../../src/knowledge/sources.js';
import { type SyncOptions, syncSource } from '../../src/knowledge/sync.js';
import { type AppDatabase, openAppDatabase } from '../../src/state/app-db.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { type FakeGitHub, startFakeGitHub } from '../fakes/github/index.js';
import { captureLogs } from '../support/logs.js';

const TOKEN = 'ghp_valid_token_for_tests';
let github: FakeGitHub;
let dir: string;
let store: LocalStore;
let app: AppDatabase;
let registry: SourceRegistry;
let clock = Date.parse('2026-03-01T12:00:00Z');
const sleeps: number[] = [];

const options = (extra: Partial<SyncOptions> = {}): SyncOptions => ({
  kind: githubKind,
  env: { GITHUB_API_URL: github.url, GITHUB_TOKEN: TOKEN },
  now: () => clock,
  sleep: async (ms) => {
    sleeps.push(ms);
    clock += ms;
  },
  ...extra,
});
const search = (query: string, collection = 'support') =>
  store.search(query, { topK: 3, collections: [collection] });
const ISSUES = 'https://github.com/acme/widgets/issues';

beforeAll(async () => {
  github = await startFakeGitHub({ now: () => clock });
  github.setTokens([TOKEN]);
  dir = await mkdtemp(join(tmpdir(), 'rag-github-'));
  store = await LocalStore.open({ dir });
  app = openAppDatabase(dir);
  registry = new SourceRegistry(app);
  const repo = github.repo('acme/widgets');
  for (let n = 1; n <= 7; n++) {
    repo.issues.push({
      number: n,
      title: `Widget problem number ${n}`,
      body: `Filler issue ${n} about the widget.`,
      state: 'closed',
      updated_at: '2026-02-01T00:00:00Z',
      comments: [],
    });
  }
  repo.issues.push(
    {
      number: 8,
      title: 'Widget crashes when the flux capacitor is cold',
      body: 'The widget crashes on start in winter.',
      state: 'closed',
      updated_at: '2026-02-10T00:00:00Z',
      // More comments than a page: read through the Link header.
      comments: [
        ...Array.from({ length: 4 }, (_, i) => ({ body: `Me too (${i}).` })),
        { body: 'Thanks for the report, triaging.', bot: true },
        { body: 'Resolved: warm the flux capacitor to 10 degrees before starting; fixed in 2.3.' },
      ],
    },
    {
      number: 9,
      title: 'Open question about the quux port',
      body: 'Which port does quux use?',
      state: 'open',
      updated_at: '2026-02-11T00:00:00Z',
      comments: [],
    },
    {
      number: 10,
      title: 'Duplicate of the crash',
      body: 'Same crash.',
      state: 'closed',
      state_reason: 'duplicate',
      updated_at: '2026-02-12T00:00:00Z',
      comments: [],
    },
    {
      number: 11,
      title: 'Add dark mode',
      body: 'Please.',
      state: 'closed',
      updated_at: '2026-02-12T00:00:00Z',
      pull_request: true,
      comments: [],
    },
  );
  github.repo('acme/widgets').discussions.push(
    {
      number: 1,
      title: 'How do I calibrate the zorblax?',
      body: 'The zorblax drifts after a week.',
      updatedAt: '2026-02-01T00:00:00Z',
      answer: {
        body: 'Calibrate it with the blue key held for five seconds.',
        updatedAt: '2026-02-02T00:00:00Z',
      },
    },
    {
      number: 2,
      title: 'Unanswered musing',
      body: 'Anyone else enjoy the glorbnik?',
      updatedAt: '2026-02-03T00:00:00Z',
    },
  );
});
afterAll(async () => {
  store.close();
  app.close();
  await github.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  github.clearRequests();
  github.setPageSize(5);
  sleeps.length = 0;
});

describe('GitHub issues: closed issues with their comments, by page and ETag', () => {
  it('reads closed issues (not duplicates, not pull requests, not open ones) across pages, citing each issue', async () => {
    const { source } = await registry.add(ISSUES, 'support', 'test', 'github');
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 8, failed: [] });
    const [hit] = await search('widget crashes cold flux capacitor');
    expect(hit?.url).toBe('https://github.com/acme/widgets/issues/8');
    expect(hit?.text).toContain('warm the flux capacitor to 10 degrees');
    expect(hit?.text).not.toContain('triaging'); // a bot's comment
    expect(await search('quux port')).toEqual([]);
    expect(await search('dark mode please')).toEqual([]);
    // Pages followed through Link headers.
    expect(github.requests.filter((r) => r.path.includes('/issues?')).length).toBe(2);
    expect(
      github.requests.some((r) => r.path.includes('/issues/8/comments') && r.path.includes('page=2')),
    ).toBe(true);
  });

  it('re-syncs unchanged issues with conditional requests only (304s), reading no comments', async () => {
    const source = (await registry.find(ISSUES, 'support'))!;
    const summary = await syncSource(store, registry, source, options());
    expect(summary).toMatchObject({ added: 0, updated: 0, removed: 0, unchanged: 8, chunksUpserted: 0 });
    expect(github.requests.every((r) => r.status === 304 && r.conditional)).toBe(true);
  });

  it('reads again only an issue whose updated_at moved; a deleted, a transferred and a reopened issue are removed', async () => {
    const repo = github.repo('acme/widgets');
    const crash = repo.issues.find((i) => i.number === 8)!;
    crash.comments.push({ body: 'Also fixed for the quantum widget in 2.4.' });
    crash.updated_at = '2026-02-20T00:00:00Z';
    repo.issues = repo.issues.filter((i) => i.number !== 2); // deleted
    const moved = repo.issues.find((i) => i.number === 3)!; // transferred to another repository
    repo.issues = repo.issues.filter((i) => i !== moved);
    github.repo('acme/other').issues.push({ ...moved, number: 1 });
    repo.issues.find((i) => i.number === 4)!.state = 'open'; // reopened
    const source = (await registry.find(ISSUES, 'support'))!;
    const summary = await syncSource(store, registry, source, options());
    expect(summary).toMatchObject({ updated: 1, removed: 3, unchanged: 4, failed: [] });
    const comments = github.requests.filter((r) => r.path.includes('/comments'));
    expect(new Set(comments.map((r) => r.path.split('/comments')[0]))).toEqual(
      new Set(['/repos/acme/widgets/issues/8']),
    );
    expect((await search('quantum widget fixed'))[0]?.url).toBe('https://github.com/acme/widgets/issues/8');
    expect(await search('Filler issue 2')).not.toEqual(
      expect.arrayContaining([expect.objectContaining({ url: 'https://github.com/acme/widgets/issues/2' })]),
    );
  });

  it('waits out the primary rate limit until its reset and a secondary limit’s retry-after, then resumes', async () => {
    const repo = github.repo('acme/widgets');
    Object.assign(repo.issues.find((i) => i.number === 5)!, {
      updated_at: '2026-02-21T00:00:00Z',
      body: 'Filler issue 5, edited: the widget hums.',
    });
    github.setRateLimit(1, Math.floor(clock / 1000) + 600);
    const { logger, lines } = captureLogs();
    const source = (await registry.find(ISSUES, 'support'))!;
    const start = clock;
    const summary = await syncSource(store, registry, source, options({ logger }));
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ updated: 1, failed: [] });
    expect(github.requests.some((r) => r.status === 403)).toBe(true);
    // Waited (on the test's clock) until the reset, then went on.
    expect(clock - start).toBeGreaterThanOrEqual(600_000);
    expect(lines.join('')).toContain('rate limited');

    github.secondaryLimit(2, 60);
    sleeps.length = 0;
    const again = await syncSource(store, registry, source, options());
    expect(again.error).toBeUndefined();
    expect(sleeps).toEqual([60_000, 60_000]);
  });

  it('waits a minute, then longer, for a secondary limit that names no time (403 or 429), rather than calling it missing access', async () => {
    const repo = github.repo('acme/widgets');
    Object.assign(repo.issues.find((i) => i.number === 6)!, {
      updated_at: '2026-02-22T00:00:00Z',
      body: 'Filler issue 6, edited: the widget rattles.',
    });
    github.secondaryLimit(2, undefined);
    const source = (await registry.find(ISSUES, 'support'))!;
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ updated: 1, failed: [] });
    expect(sleeps).toEqual([60_000, 120_000]);

    github.secondaryLimit(1, undefined, 429);
    sleeps.length = 0;
    const again = await syncSource(store, registry, source, options());
    expect(again.error).toBeUndefined();
    expect(sleeps).toEqual([60_000]);
  });

  it('follows a renamed repository', async () => {
    github.rename('acme/widgets', 'acme/gadgets');
    const source = (await registry.find(ISSUES, 'support'))!;
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(summary.failed).toEqual([]);
    expect(github.requests.some((r) => r.status === 301)).toBe(true);
    github.rename('acme/gadgets', 'acme/widgets');
  });

  it('names GITHUB_TOKEN when the token is revoked, never showing it, and keeps what it had', async () => {
    const { logger, lines } = captureLogs();
    const source = (await registry.find(ISSUES, 'support'))!;
    const summary = await syncSource(
      store,
      registry,
      source,
      options({ logger, env: { GITHUB_API_URL: github.url, GITHUB_TOKEN: 'ghp_revoked_token' } }),
    );
    expect(summary.error).toMatch(/GitHub refused the token in GITHUB_TOKEN \(HTTP 401\)/);
    expect(`${lines.join('')}${JSON.stringify(summary)}`).not.toContain('ghp_revoked_token');
    expect(await search('widget crashes cold flux capacitor')).not.toEqual([]);
  });

  it('takes open issues too when the URL asks for ?state=all', async () => {
    const url = githubKind.recognise(new URL(`${ISSUES}?state=all`), {})!;
    const { source } = await registry.add(url, 'all', 'test', 'github');
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect((await search('Which port does quux use', 'all'))[0]?.url).toBe(
      'https://github.com/acme/widgets/issues/9',
    );
  });
});

describe('GitHub issues: one item’s trouble stays that item’s', () => {
  const GONE = 'https://github.com/acme/fragile/issues';
  beforeAll(() => {
    const repo = github.repo('acme/fragile');
    for (const n of [1, 2]) {
      repo.issues.push({
        number: n,
        title: `Fragile issue ${n}`,
        body: n === 2 ? 'The crumbler falls apart in the rain.' : 'The wobbler wobbles.',
        state: 'closed',
        updated_at: '2026-02-01T00:00:00Z',
        comments: [{ body: n === 2 ? 'Keep the crumbler under a tarp.' : 'Tighten the wobbler.' }],
      });
    }
  });

  it('an issue deleted since (410) while its listing page is unchanged (304) is removed, not the sync failed', async () => {
    const { source } = await registry.add(GONE, 'fragile', 'test', 'github');
    expect(await syncSource(store, registry, source, options())).toMatchObject({ added: 2, failed: [] });
    expect((await search('crumbler rain tarp', 'fragile'))[0]?.url).toBe(`${GONE}/2`);
    // Edited, but its comments fail this time: kept as it was, and read again next time.
    github.repo('acme/fragile').issues.find((i) => i.number === 2)!.updated_at = '2026-02-05T00:00:00Z';
    github.failComments(2, 500);
    const failing = await syncSource(store, registry, source, options());
    github.failComments(2, undefined);
    expect(failing.error).toBeUndefined();
    expect(failing.failed).toEqual([{ url: '2', reason: 'comments: HTTP 500' }]);
    // The listing has not changed since (a 304); the issue itself is now deleted.
    github.deleteIssueQuietly(2);
    github.clearRequests();
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ removed: 1, unchanged: 1, failed: [] });
    expect(github.requests.some((r) => r.status === 304)).toBe(true);
    expect(github.requests.some((r) => r.status === 410)).toBe(true);
    expect(await search('crumbler rain tarp', 'fragile')).toEqual([]);
  });

  it('a listing page answering 502 is asked again; still failing, the pages read stand and nothing is pruned', async () => {
    const source = (await registry.find(ISSUES, 'support'))!;
    const before = (await registry.pages(source.id)).length;
    github.failListingPage(2, 2);
    const retried = await syncSource(store, registry, source, options());
    expect(retried.error).toBeUndefined();
    expect(retried.failed).toEqual([]);
    expect(github.requests.filter((r) => r.status === 502)).toHaveLength(2);

    github.failListingPage(2, 10);
    const failing = await syncSource(store, registry, source, options());
    github.failListingPage(2, 0);
    expect(failing.error).toBeUndefined();
    expect(failing.failed).toEqual([{ url: 'issues page 2', reason: 'HTTP 502' }]);
    expect(failing.removed).toBe(0);
    expect(await registry.pages(source.id)).toHaveLength(before);
  });

  it('keeps an issue’s first and last comments, saying how many were left out between', async () => {
    github.setPageSize(100);
    github.repo('acme/long').issues.push({
      number: 1,
      title: 'The long thread about the gasket',
      body: 'The pump leaks.',
      state: 'closed',
      updated_at: '2026-02-01T00:00:00Z',
      comments: Array.from({ length: 500 }, (_, i) => ({
        body:
          i === 0
            ? 'First reply: the leak started after the zibbit upgrade.'
            : i === 499
              ? 'Resolution: replace the gasket with the blue flurgle one.'
              : `Same here (${i}).`,
      })),
    });
    const { source } = await registry.add('https://github.com/acme/long/issues', 'long', 'test', 'github');
    const summary = await syncSource(store, registry, source, options());
    expect(summary).toMatchObject({ added: 1, failed: [] });
    expect((await search('replace the gasket blue flurgle', 'long'))[0]?.text).toContain('blue flurgle');
    expect((await search('leak started zibbit upgrade', 'long'))[0]?.text).toContain('zibbit');
    expect((await search('comments left out', 'long'))[0]?.text).toContain('200 comments left out');
    // Pages 1–2 (the first 150) and 4–5 (the last 150); page 3 is never asked.
    const pages = github.requests
      .filter((r) => r.path.includes('/issues/1/comments'))
      .map((r) => new URL(r.path, 'http://x').searchParams.get('page') ?? '1');
    expect(pages.sort()).toEqual(['1', '2', '4', '5']);
  });
});

describe('GitHub discussions: answered ones with the accepted answer', () => {
  it('reads answered discussions over GraphQL, citing each, and skips unanswered ones', async () => {
    const { source } = await registry.add(
      'https://github.com/acme/widgets/discussions',
      'support',
      'test',
      'github',
    );
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 1 });
    const [hit] = await search('calibrate the zorblax drift');
    expect(hit?.url).toBe('https://github.com/acme/widgets/discussions/1');
    expect(hit?.text).toContain('blue key held for five seconds');
    expect(await search('glorbnik')).toEqual([]);

    const again = await syncSource(store, registry, source, options());
    expect(again).toMatchObject({ unchanged: 1, chunksUpserted: 0 });
  });

  it('waits out GraphQL’s primary limit (HTTP 200, RATE_LIMITED) until its reset, then asks for the same page again', async () => {
    const forum = github.repo('acme/forum');
    for (let n = 1; n <= 60; n++) {
      forum.discussions.push({
        number: n,
        title: `Forum question ${n}`,
        body: n === 57 ? 'How long does the gizmo warm up?' : `Question ${n}.`,
        updatedAt: '2026-02-01T00:00:00Z',
        answer: {
          body: n === 57 ? 'The gizmo warms up in ninety seconds.' : `Answer ${n}.`,
          updatedAt: '2026-02-02T00:00:00Z',
        },
      });
    }
    // One query left: the first page (50) is read, the second meets the limit.
    github.setRateLimit(1, Math.floor(clock / 1000) + 900, 'graphql');
    const start = clock;
    const { source } = await registry.add(
      'https://github.com/acme/forum/discussions',
      'forum',
      'test',
      'github',
    );
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 60, failed: [] });
    expect(clock - start).toBeGreaterThanOrEqual(900_000);
    expect(github.requests.filter((r) => r.path === '/graphql')).toHaveLength(3);
    expect((await search('gizmo warm up', 'forum'))[0]?.url).toBe(
      'https://github.com/acme/forum/discussions/57',
    );
  });

  it('waits out a GraphQL secondary limit sent as HTTP 200: its retry-after, else a minute, then two', async () => {
    const source = (await registry.find('https://github.com/acme/forum/discussions', 'forum'))!;
    github.secondaryLimit(1, 30, 200);
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ unchanged: 60, failed: [] });
    expect(sleeps).toEqual([30_000]);

    sleeps.length = 0;
    github.secondaryLimit(2, undefined, 200);
    const again = await syncSource(store, registry, source, options());
    expect(again.error).toBeUndefined();
    expect(again).toMatchObject({ unchanged: 60, failed: [] });
    expect(sleeps).toEqual([60_000, 120_000]);
  });

  it('never waits for a limit past the sync’s time budget: the sync ends as out of time, removing nothing', async () => {
    const source = (await registry.find('https://github.com/acme/forum/discussions', 'forum'))!;
    github.secondaryLimit(1, undefined, 200);
    const summary = await syncSource(store, registry, source, options({ budgetMs: 30_000 }));
    github.secondaryLimit(0, undefined);
    expect(summary.error).toBeUndefined();
    expect(summary.outOfTime).toBe(true);
    expect(summary.removed).toBe(0);
    expect(sleeps).toEqual([]);
  });

  it('asks a page that timed out (502, 504) or came back partial again with fewer discussions, and reads them all', async () => {
    const source = (await registry.find('https://github.com/acme/forum/discussions', 'forum'))!;
    github.graphqlTimeouts(2, 504);
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ unchanged: 60, failed: [], removed: 0 });
    const firsts = () => github.requests.filter((r) => r.path === '/graphql').map((r) => r.status);
    expect(firsts().slice(0, 3)).toEqual([504, 504, 200]);

    github.clearRequests();
    github.graphqlPartialAbove(20);
    const partial = await syncSource(store, registry, source, options());
    github.graphqlPartialAbove(undefined);
    expect(partial.error).toBeUndefined();
    expect(partial).toMatchObject({ unchanged: 60, failed: [], removed: 0 });
  });

  it('reads a page that never comes back whole one discussion at a time: only the one that cannot be read fails, keeping what it had', async () => {
    const source = (await registry.find('https://github.com/acme/forum/discussions', 'forum'))!;
    github.poisonDiscussion(57);
    github.repo('acme/forum').discussions.find((d) => d.number === 58)!.answer = {
      body: 'The gizmo cools down in four minutes.',
      updatedAt: '2026-02-09T00:00:00Z',
    };
    const summary = await syncSource(store, registry, source, options());
    github.poisonDiscussion(undefined);
    expect(summary.error).toBeUndefined();
    expect(summary.failed).toEqual([{ url: '57', reason: expect.stringMatching(/partial result/) }]);
    expect(summary).toMatchObject({ updated: 1, removed: 0, unchanged: 58 });
    expect((await search('gizmo warm up', 'forum'))[0]?.url).toBe(
      'https://github.com/acme/forum/discussions/57',
    );
    expect((await search('gizmo cools down', 'forum'))[0]?.url).toBe(
      'https://github.com/acme/forum/discussions/58',
    );
  });

  it('needs a token for discussions, and says so', async () => {
    const source = (await registry.find('https://github.com/acme/widgets/discussions', 'support'))!;
    const summary = await syncSource(
      store,
      registry,
      source,
      options({ env: { GITHUB_API_URL: github.url } }),
    );
    expect(summary.error).toMatch(/needs a token: set GITHUB_TOKEN/);
  });
});

describe('GITHUB_TOKEN goes only to api.github.com or the API named in GITHUB_API_URL', () => {
  /**
   * Every request the kind makes, by the URL it meant, answered by the fake GitHub; its `Link`
   * headers name the host asked, as the real API's do (unless `elsewhere`: then they keep
   * naming the fake, another origin).
   */
  const routed = (elsewhere = false) => {
    const seen: { url: string; authorization: string | null }[] = [];
    const fetchVia = (async (input: string | URL | Request, init?: RequestInit) => {
      const request = new Request(input, init);
      seen.push({ url: request.url, authorization: request.headers.get('authorization') });
      const meant = new URL(request.url);
      const prefix = meant.pathname.startsWith('/api/v3') ? '/api/v3' : '';
      const path = meant.pathname.slice(prefix.length);
      const response = await fetch(`${github.url}${path}${meant.search}`, {
        method: request.method,
        headers: request.headers,
        redirect: 'manual',
        ...(request.method === 'POST' ? { body: await request.text() } : {}),
      });
      const link = response.headers.get('link');
      if (!link || elsewhere) return response;
      const headers = new Headers(response.headers);
      headers.set('link', link.replaceAll(github.url, `${meant.origin}${prefix}`));
      return new Response(response.body, { status: response.status, headers });
    }) as typeof fetch;
    return { seen, fetch: fetchVia };
  };

  it('refuses a github.* host it was not told of, naming GITHUB_API_URL, and sends it nothing', async () => {
    const evil = 'https://github.evil.example/acme/widgets/issues';
    expect(() => githubKind.recognise(new URL(evil), { GITHUB_TOKEN: TOKEN })).toThrow(/GITHUB_API_URL/);
    // A source stored before (or added around the check) is refused when it syncs too.
    const { source } = await registry.add(evil, 'evil', 'test', 'github');
    const { seen, fetch: fetchVia } = routed();
    const summary = await syncSource(
      store,
      registry,
      source,
      options({ env: { GITHUB_TOKEN: TOKEN }, fetch: fetchVia }),
    );
    expect(summary.error).toMatch(/set GITHUB_API_URL to its API/);
    expect(seen).toEqual([]);
  });

  it('sends the token for a github.com URL to api.github.com only', async () => {
    const { source } = await registry.add(ISSUES, 'dotcom', 'test', 'github');
    const { seen, fetch: fetchVia } = routed();
    const summary = await syncSource(
      store,
      registry,
      source,
      options({ env: { GITHUB_TOKEN: TOKEN }, fetch: fetchVia }),
    );
    expect(summary.error).toBeUndefined();
    const credentialed = seen.filter((r) => r.authorization !== null);
    expect(credentialed.length).toBeGreaterThan(0);
    expect(seen.every((r) => new URL(r.url).origin === 'https://api.github.com')).toBe(true);
    // Pages past the first were followed through Link headers.
    expect(seen.some((r) => r.url.includes('page=2'))).toBe(true);
  });

  it('refuses a Link header’s next page on another host before the token would go there (issues and comments)', async () => {
    const { source } = await registry.add(ISSUES, 'offorigin', 'test', 'github');
    const { seen, fetch: fetchVia } = routed(true);
    const summary = await syncSource(
      store,
      registry,
      source,
      options({ env: { GITHUB_TOKEN: TOKEN }, fetch: fetchVia }),
    );
    expect(summary.error).toMatch(
      /GitHub pointed a next page at http:\/\/127\.0\.0\.1:\d+; GITHUB_TOKEN is sent to https:\/\/api\.github\.com only/,
    );
    // Nothing went to the other host, with or without the token.
    expect(seen.every((r) => new URL(r.url).origin === 'https://api.github.com')).toBe(true);
    expect(seen.some((r) => r.url.includes('/comments'))).toBe(true);
  });

  it('reads a GitHub Enterprise host named by GITHUB_API_URL, and no other host with it', async () => {
    const env = { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: 'https://ghe.example.com/api/v3' };
    expect(githubKind.recognise(new URL('https://ghe.example.com/acme/widgets/issues'), env)).toBe(
      'https://ghe.example.com/acme/widgets/issues',
    );
    expect(() =>
      githubKind.recognise(new URL('https://github.evil.example/acme/widgets/issues'), env),
    ).toThrow(/not github\.com or the GitHub Enterprise host in GITHUB_API_URL/);
    expect(githubKind.recognise(new URL('https://evil.example/acme/widgets/issues'), env)).toBeUndefined();
    const { source } = await registry.add(
      'https://ghe.example.com/acme/widgets/issues',
      'ghe',
      'test',
      'github',
    );
    const { seen, fetch: fetchVia } = routed();
    const summary = await syncSource(store, registry, source, options({ env, fetch: fetchVia }));
    expect(summary.error).toBeUndefined();
    expect(new URL(seen[0]!.url).href).toMatch(
      /^https:\/\/ghe\.example\.com\/api\/v3\/repos\/acme\/widgets\/issues/,
    );
  });

  it('never sends the token over plain http to a host off the machine', async () => {
    const env = { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: 'http://ghe.example.com/api/v3' };
    const { source } = await registry.add(
      'https://ghe.example.com/acme/widgets/issues',
      'plain',
      'test',
      'github',
    );
    const { seen, fetch: fetchVia } = routed();
    const summary = await syncSource(store, registry, source, options({ env, fetch: fetchVia }));
    expect(summary.error).toMatch(/GITHUB_TOKEN is sent over https only/);
    expect(seen).toEqual([]);
  });
});

describe('a server whose listings never end', () => {
  afterAll(() => github.setEndlessEmptyPages(false));

  it('stops an issues listing at an empty page that names a next one, keeping what it had', async () => {
    const source = (await registry.find(ISSUES, 'support'))!;
    const before = (await registry.pages(source.id)).length;
    github.setEndlessEmptyPages(true);
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    // One page asked, not an endless walk; nothing pruned on a listing cut short.
    expect(github.requests.filter((r) => r.path.includes('/issues?'))).toHaveLength(1);
    expect(summary.removed).toBe(0);
    expect(await registry.pages(source.id)).toHaveLength(before);
  });

  it('stops a discussions listing at a page with no discussions and hasNextPage', async () => {
    const source = (await registry.find('https://github.com/acme/widgets/discussions', 'support'))!;
    github.setEndlessEmptyPages(true);
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(github.requests.filter((r) => r.path === '/graphql')).toHaveLength(1);
    expect(summary.removed).toBe(0);
  });

  it('stops an issue’s comments at an empty page that names a next one', async () => {
    const repo = github.repo('acme/chatty');
    repo.issues.push({
      number: 1,
      title: 'Chatty issue',
      body: 'The sprocket squeaks.',
      state: 'closed',
      updated_at: '2026-02-01T00:00:00Z',
      comments: [{ body: 'Oil it.' }],
    });
    const { source } = await registry.add(
      'https://github.com/acme/chatty/issues',
      'chatty',
      'test',
      'github',
    );
    // The listing is served as usual; the comments endlessly empty.
    const fetchComments: typeof fetch = async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      github.setEndlessEmptyPages(url.includes('/comments'));
      return fetch(input, init);
    };
    const summary = await syncSource(store, registry, source, options({ fetch: fetchComments }));
    github.setEndlessEmptyPages(false);
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 1 });
    expect(github.requests.filter((r) => r.path.includes('/issues/1/comments'))).toHaveLength(1);
  });
});

describe('refusals, in words that say what to fix', () => {
  const refusing =
    (message: string): typeof fetch =>
    async () =>
      new Response(JSON.stringify({ message, documentation_url: 'https://docs.github.com/rest' }), {
        status: 403,
        headers: { 'content-type': 'application/json; charset=utf-8', 'x-ratelimit-remaining': '4999' },
      });

  it('a 403 of SAML single sign-on says to authorize the token for the organization, never showing it', async () => {
    const { source } = await registry.add('https://github.com/acme/sso/issues', 'sso', 'test', 'github');
    const summary = await syncSource(
      store,
      registry,
      source,
      options({
        fetch: refusing(
          'Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization.',
        ),
      }),
    );
    expect(summary.error).toMatch(/SAML single sign-on; authorize the token in GITHUB_TOKEN/);
    expect(JSON.stringify(summary)).not.toContain(TOKEN);
  });

  it('a 403 without a token says to set GITHUB_TOKEN, not that a token lacks access', async () => {
    const source = (await registry.find('https://github.com/acme/sso/issues', 'sso'))!;
    const summary = await syncSource(
      store,
      registry,
      source,
      options({
        env: { GITHUB_API_URL: github.url },
        fetch: refusing('Must have admin rights to Repository.'),
      }),
    );
    expect(summary.error).toMatch(/HTTP 403\) without a token: set GITHUB_TOKEN/);
  });
});

describe('an answer that is not what GitHub sends', () => {
  it('fails the sync on a listing page cut off half-way, pruning nothing (it is not an empty list)', async () => {
    const source = (await registry.find(ISSUES, 'support'))!;
    const before = (await registry.pages(source.id)).length;
    expect(before).toBeGreaterThan(0);
    const cutOff: typeof fetch = async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (!url.includes('/issues?')) return fetch(input, init);
      return new Response('[{"number": 1, "title": "Widget prob', {
        status: 200,
        headers: { 'content-type': 'application/json; charset=utf-8' },
      });
    };
    const summary = await syncSource(store, registry, source, options({ fetch: cutOff }));
    expect(summary.error).toMatch(/GitHub answered the issues listing with something other than a list/);
    expect(summary.removed).toBe(0);
    expect(await registry.pages(source.id)).toHaveLength(before);
  });
});

describe('an answer that never ends', () => {
  it('stops reading an issue’s comments past 32 MB: that issue fails alone, saying so', async () => {
    const repo = github.repo('acme/bottomless');
    repo.issues.push(
      {
        number: 1,
        title: 'Bottomless comments',
        body: 'The gasket leaks.',
        state: 'closed',
        updated_at: '2026-02-01T00:00:00Z',
        comments: [{ body: 'Replace it.' }],
      },
      {
        number: 2,
        title: 'Quiet issue',
        body: 'The hinge creaks; grease the hinge with the yellow tube.',
        state: 'closed',
        updated_at: '2026-02-01T00:00:00Z',
        comments: [],
      },
    );
    const { source } = await registry.add(
      'https://github.com/acme/bottomless/issues',
      'bottomless',
      'test',
      'github',
    );
    let sent = 0;
    const chunk = new Uint8Array(1_048_576).fill(0x20);
    const endless: typeof fetch = async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (!url.includes('/comments')) return fetch(input, init);
      const body = new ReadableStream<Uint8Array>({
        start: (controller) => controller.enqueue(new TextEncoder().encode('[')),
        pull: (controller) => {
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const summary = await syncSource(store, registry, source, options({ fetch: endless }));
    expect(summary.error).toBeUndefined();
    expect(summary.added).toBe(1);
    expect(summary.failed).toEqual([{ url: '1', reason: expect.stringMatching(/larger than 32 MB/) }]);
    expect(sent).toBeLessThan(40 * 1_048_576);
    expect((await search('grease the hinge yellow tube', 'bottomless'))[0]?.url).toContain('/issues/2');
  });
});
