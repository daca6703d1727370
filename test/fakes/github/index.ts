/**
 * A loopback fake of GitHub's REST and GraphQL APIs, as far as the issues and discussions
 * source uses them, speaking the real wire protocol for Octokit: issues listed page by page
 * with `Link` headers and ETags (a matching `If-None-Match` gets a 304), comments paginated
 * the same way, `x-ratelimit-*` headers with the primary limits, one for REST and one for
 * GraphQL as GitHub counts them (REST: a 403 with `x-ratelimit-remaining: 0` until
 * `x-ratelimit-reset`, on the test's clock; GraphQL: an HTTP 200 whose error is of type
 * RATE_LIMITED, with the same headers), secondary limits (a 403 or 429 saying "secondary rate
 * limit", with `retry-after` or, as GitHub may send it, without), a renamed repository (301 to
 * its new name), and tokens (a revoked one gets 401 "Bad credentials"). GraphQL's other ways
 * of not answering whole, as GitHub documents them: a secondary limit sent as HTTP 200 with an
 * error message saying so (with or without `retry-after`), a timeout (502 or 504), a query
 * stopped with partial results (HTTP 200, `data` with nulls where it stopped, and an error);
 * and on the REST side a deleted issue (410 Gone), failing comments and a listing page's 502.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LoopbackServer, sendJson, startLoopbackServer } from '../http-server.js';

export interface FakeIssue {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  state_reason?: 'completed' | 'not_planned' | 'duplicate' | null;
  updated_at: string;
  pull_request?: boolean;
  comments: { body: string; bot?: boolean }[];
}

export interface FakeDiscussion {
  number: number;
  title: string;
  body: string;
  updatedAt: string;
  answer?: { body: string; updatedAt: string };
  category?: string;
}

interface Repo {
  issues: FakeIssue[];
  discussions: FakeDiscussion[];
}

export interface GitHubRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly conditional: boolean;
}

export interface FakeGitHub {
  readonly url: string;
  readonly requests: GitHubRequest[];
  repo(name: string): Repo;
  /** Makes `from` answer with a 301 to `to`, as GitHub does for a renamed repository. */
  rename(from: string, to: string): void;
  /** Tokens accepted; any other is "Bad credentials". */
  setTokens(tokens: readonly string[]): void;
  /**
   * A primary limit (`core`: REST, `graphql`: GraphQL): this many requests left, then limited
   * until `resetAt` (seconds on the fake's clock).
   */
  setRateLimit(remaining: number, resetAt: number, resource?: 'core' | 'graphql'): void;
  /**
   * The next `count` requests get a secondary limit: `status` (403 by default) with
   * `retry-after: seconds`, or with no `retry-after` at all when `seconds` is undefined.
   */
  secondaryLimit(count: number, seconds: number | undefined, status?: 200 | 403 | 429): void;
  /** The next `count` discussions queries answer a timeout, `status` 502 or 504. */
  graphqlTimeouts(count: number, status?: 502 | 504): void;
  /**
   * Discussions queries asking for more than `size` at once are stopped with partial results
   * (undefined: none are).
   */
  graphqlPartialAbove(size: number | undefined): void;
  /** Any query reading this discussion's fields whole is stopped with partial results. */
  poisonDiscussion(number: number | undefined): void;
  /** Reading this issue alone answers 410 Gone (deleted), while the listing still has it. */
  deleteIssueQuietly(number: number): void;
  /** This issue's comments answer `status` (undefined: they are read again). */
  failComments(number: number, status: number | undefined): void;
  /** The next `count` requests for the issues listing's page `page` (1-based) answer 502. */
  failListingPage(page: number, count: number): void;
  /** Issues per page (GitHub: up to 100). */
  setPageSize(size: number): void;
  /**
   * A hostile server: every listing (issues, comments, discussions) answers an empty page
   * that names a next one (`Link: rel="next"`, `hasNextPage: true`), for ever.
   */
  setEndlessEmptyPages(on: boolean): void;
  clearRequests(): void;
  close(): Promise<void>;
}

const etagOf = (body: string) => `"${createHash('sha1').update(body).digest('hex')}"`;

export async function startFakeGitHub(options: { now: () => number }): Promise<FakeGitHub> {
  const repos = new Map<string, Repo>();
  const renamed = new Map<string, string>();
  const requests: GitHubRequest[] = [];
  let tokens: readonly string[] = [];
  const limits = {
    core: { remaining: 5_000, resetAt: 0 },
    graphql: { remaining: 5_000, resetAt: 0 },
  };
  let secondary: { count: number; seconds: number | undefined; status: number } = {
    count: 0,
    seconds: undefined,
    status: 403,
  };
  let pageSize = 100;
  let endless = false;
  let timeouts = { count: 0, status: 502 };
  let partialAbove: number | undefined;
  let poison: number | undefined;
  const deletedQuietly = new Set<number>();
  const failingComments = new Map<number, number>();
  const failingPages = new Map<number, number>();
  let server: LoopbackServer;

  const repoOf = (name: string): Repo => {
    let repo = repos.get(name);
    if (!repo) {
      repo = { issues: [], discussions: [] };
      repos.set(name, repo);
    }
    return repo;
  };

  const issueJson = (name: string, issue: FakeIssue) => ({
    number: issue.number,
    title: issue.title,
    body: issue.body,
    state: issue.state,
    state_reason: issue.state_reason ?? (issue.state === 'closed' ? 'completed' : null),
    html_url: `https://github.com/${name}/issues/${issue.number}`,
    updated_at: issue.updated_at,
    comments: issue.comments.length,
    ...(issue.pull_request ? { pull_request: { url: 'x' } } : {}),
  });

  /** Sends one page of `items` with GitHub's Link header and an ETag (304 when it matches). */
  const sendPage = (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    items: unknown[],
    record: (status: number) => void,
  ) => {
    const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30), pageSize);
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
    if (endless) {
      const copy = new URL(url.href, server.url);
      copy.searchParams.set('page', String(page + 1));
      record(200);
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        etag: `"endless-${page}"`,
        link: `<${server.url}${copy.pathname}${copy.search}>; rel="next"`,
        ...rateHeaders(),
      });
      res.end('[]');
      return;
    }
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const body = JSON.stringify(slice);
    const etag = etagOf(body);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (n: number, rel: string) => {
      const copy = new URL(url.href, server.url);
      copy.searchParams.set('page', String(n));
      return `<${server.url}${copy.pathname}${copy.search}>; rel="${rel}"`;
    };
    const links = [
      ...(page < last ? [link(page + 1, 'next'), link(last, 'last')] : []),
      ...(page > 1 ? [link(1, 'first'), link(page - 1, 'prev')] : []),
    ];
    if (req.headers['if-none-match'] === etag) {
      record(304);
      res.writeHead(304, { etag, ...rateHeaders() });
      res.end();
      return;
    }
    record(200);
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      etag,
      ...(links.length > 0 ? { link: links.join(', ') } : {}),
      ...rateHeaders(),
    });
    res.end(body);
  };

  let resource: keyof typeof limits = 'core';
  const rateHeaders = () => ({
    'x-ratelimit-limit': '5000',
    'x-ratelimit-remaining': String(Math.max(0, limits[resource].remaining)),
    'x-ratelimit-reset': String(limits[resource].resetAt),
    'x-ratelimit-resource': resource,
  });

  server = await startLoopbackServer(async (req, res, body) => {
    const url = new URL(req.url ?? '/', server.url);
    const conditional = req.headers['if-none-match'] !== undefined;
    const record = (status: number) =>
      requests.push({
        method: req.method ?? 'GET',
        path: `${url.pathname}${url.search}`,
        status,
        conditional,
      });
    const auth = req.headers.authorization?.replace(/^(token|bearer)\s+/i, '');
    if (auth !== undefined && !tokens.includes(auth)) {
      record(401);
      return sendJson(res, 401, {
        message: 'Bad credentials',
        documentation_url: 'https://docs.github.com/rest',
      });
    }
    const graphql = req.method === 'POST' && url.pathname === '/graphql';
    resource = graphql ? 'graphql' : 'core';
    const limit = limits[resource];
    if (secondary.count > 0 && secondary.status === 200 && graphql) {
      // GraphQL's secondary limit as GitHub may send it: HTTP 200, an error message saying so.
      secondary.count -= 1;
      record(200);
      return sendJson(
        res,
        200,
        {
          errors: [
            {
              message:
                'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:1111:2222.',
            },
          ],
        },
        {
          ...(secondary.seconds !== undefined ? { 'retry-after': String(secondary.seconds) } : {}),
          ...rateHeaders(),
        },
      );
    }
    if (secondary.count > 0 && secondary.status !== 200) {
      secondary.count -= 1;
      record(secondary.status);
      return sendJson(
        res,
        secondary.status,
        {
          message:
            'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
          documentation_url:
            'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits',
        },
        {
          ...(secondary.seconds !== undefined ? { 'retry-after': String(secondary.seconds) } : {}),
          ...rateHeaders(),
        },
      );
    }
    const nowSeconds = Math.floor(options.now() / 1000);
    if (limit.remaining <= 0 && nowSeconds >= limit.resetAt) limit.remaining = 5_000;
    if (limit.remaining <= 0 && graphql) {
      // GraphQL's primary limit: HTTP 200, an error of type RATE_LIMITED.
      record(200);
      return sendJson(
        res,
        200,
        { errors: [{ type: 'RATE_LIMITED', message: 'API rate limit already exceeded for user ID 1.' }] },
        rateHeaders(),
      );
    }
    if (limit.remaining <= 0) {
      record(403);
      return sendJson(res, 403, { message: 'API rate limit exceeded for user.' }, rateHeaders());
    }
    // A 304 does not count against the limit (GitHub's rule for conditional requests).
    limit.remaining -= 1;

    if (graphql) {
      if (auth === undefined) {
        record(401);
        return sendJson(res, 401, { message: 'This endpoint requires you to be authenticated.' });
      }
      const { query, variables } = JSON.parse(body) as {
        query: string;
        variables: Record<string, string | null>;
      };
      const name = `${variables.owner}/${variables.name}`;
      record(200);
      if ((!query.includes('discussions(') && !query.includes('discussion(number')) || !repos.has(name)) {
        return sendJson(res, 200, {
          data: { repository: null },
          errors: [
            { type: 'NOT_FOUND', message: `Could not resolve to a Repository with the name '${name}'.` },
          ],
        });
      }
      const all = repoOf(name).discussions;
      const node = (d: FakeDiscussion) => ({
        number: d.number,
        title: d.title,
        url: `https://github.com/${name}/discussions/${d.number}`,
        body: d.body,
        updatedAt: d.updatedAt,
        isAnswered: d.answer !== undefined,
        closed: false,
        category: { name: d.category ?? 'Q&A' },
        answer: d.answer ?? null,
      });
      const stopped = (data: unknown, path: (string | number)[]) =>
        sendJson(res, 200, {
          data,
          errors: [
            {
              message:
                'Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub bug.',
              path,
            },
          ],
        });
      const whole = query.includes('title');
      if (query.includes('discussion(number')) {
        const found = all.find((d) => d.number === Number(variables.number));
        if (found && found.number === poison) {
          return stopped({ repository: { discussion: null } }, ['repository', 'discussion']);
        }
        return sendJson(res, 200, { data: { repository: { discussion: found ? node(found) : null } } });
      }
      if (whole && timeouts.count > 0) {
        timeouts.count -= 1;
        requests[requests.length - 1] = { ...requests[requests.length - 1]!, status: timeouts.status };
        res.writeHead(timeouts.status, { 'content-type': 'text/html' });
        res.end("<html><body>We couldn't respond to your request in time.</body></html>");
        return;
      }
      const first = Number(variables.first ?? 50);
      const start = variables.after ? Number(variables.after) : 0;
      if (endless) {
        return sendJson(res, 200, {
          data: {
            repository: {
              discussions: { pageInfo: { hasNextPage: true, endCursor: String(start + 1) }, nodes: [] },
            },
          },
        });
      }
      const slice = all.slice(start, start + first);
      const pageInfo = { hasNextPage: start + first < all.length, endCursor: String(start + slice.length) };
      if (!whole) {
        return sendJson(res, 200, {
          data: {
            repository: { discussions: { pageInfo, nodes: slice.map((d) => ({ number: d.number })) } },
          },
        });
      }
      const cutAt = slice.findIndex((d) => d.number === poison);
      if ((partialAbove !== undefined && first > partialAbove) || cutAt >= 0) {
        // Stopped part way: the nodes from where it stopped are null.
        const at = cutAt >= 0 ? cutAt : Math.min(slice.length, partialAbove ?? 0);
        return stopped(
          {
            repository: {
              discussions: { pageInfo, nodes: slice.map((d, i) => (i < at ? node(d) : null)) },
            },
          },
          ['repository', 'discussions', 'nodes', at],
        );
      }
      return sendJson(res, 200, {
        data: { repository: { discussions: { pageInfo, nodes: slice.map(node) } } },
      });
    }

    const match = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!match) {
      record(404);
      return sendJson(res, 404, { message: 'Not Found' });
    }
    const name = `${match[1]}/${match[2]}`;
    const rest = match[3] ?? '';
    const target = renamed.get(name);
    if (target) {
      record(301);
      res.writeHead(301, { location: `${server.url}/repos/${target}${rest}${url.search}` });
      res.end();
      return;
    }
    const repo = repos.get(name);
    if (!repo) {
      record(404);
      return sendJson(res, 404, { message: 'Not Found' });
    }
    if (rest === '/issues') {
      const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
      const failing = failingPages.get(page) ?? 0;
      if (failing > 0) {
        failingPages.set(page, failing - 1);
        record(502);
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<html><body>Bad gateway</body></html>');
        return;
      }
      const state = url.searchParams.get('state') ?? 'open';
      const items = repo.issues
        .filter((issue) => state === 'all' || issue.state === state)
        .sort((a, b) => a.number - b.number)
        .map((issue) => issueJson(name, issue));
      return sendPage(req, res, url, items, record);
    }
    const one = /^\/issues\/(\d+)(\/comments)?$/.exec(rest);
    const issue = one ? repo.issues.find((i) => i.number === Number(one[1])) : undefined;
    if (one && issue && one[2] && failingComments.has(issue.number)) {
      const status = failingComments.get(issue.number)!;
      record(status);
      return sendJson(res, status, { message: 'Server Error' });
    }
    if (one && issue && !one[2] && deletedQuietly.has(issue.number)) {
      record(410);
      return sendJson(res, 410, { message: 'This issue was deleted' });
    }
    if (one && issue && one[2]) {
      const comments = issue.comments.map((comment, i) => ({
        id: issue.number * 1000 + i,
        body: comment.body,
        user: { login: comment.bot ? 'helper[bot]' : `user${i}`, type: comment.bot ? 'Bot' : 'User' },
      }));
      return sendPage(req, res, url, comments, record);
    }
    if (one && issue) {
      record(200);
      return sendJson(res, 200, issueJson(name, issue), rateHeaders());
    }
    record(404);
    return sendJson(res, 404, { message: 'Not Found' });
  });

  return {
    url: server.url,
    requests,
    repo: repoOf,
    rename(from, to) {
      const repo = repos.get(from);
      if (repo) {
        repos.set(to, repo);
        repos.delete(from);
      }
      renamed.delete(to);
      renamed.set(from, to);
    },
    setTokens(list) {
      tokens = list;
    },
    setRateLimit(left, reset, which = 'core') {
      limits[which] = { remaining: left, resetAt: reset };
    },
    secondaryLimit(count, seconds, status = 403) {
      secondary = { count, seconds, status };
    },
    graphqlTimeouts(count, status = 502) {
      timeouts = { count, status };
    },
    graphqlPartialAbove(size) {
      partialAbove = size;
    },
    poisonDiscussion(number) {
      poison = number;
    },
    deleteIssueQuietly(number) {
      deletedQuietly.add(number);
    },
    failComments(number, status) {
      if (status === undefined) failingComments.delete(number);
      else failingComments.set(number, status);
    },
    failListingPage(page, count) {
      failingPages.set(page, count);
    },
    setPageSize(size) {
      pageSize = size;
    },
    setEndlessEmptyPages(on) {
      endless = on;
    },
    clearRequests() {
      requests.length = 0;
    },
    close: () => server.close(),
  };
}
