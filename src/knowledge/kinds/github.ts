/**
 * GitHub issues and discussions as a source: `https://github.com/<owner>/<repo>/issues` reads
 * the closed issues (not closed as duplicates) with their comments, `…/discussions` the
 * answered discussions with the accepted answer; `?state=all` takes open ones too. Each is one
 * document citing the issue or discussion.
 *
 * Issues are listed with Octokit page by page, each page asked with the ETag it had (a 304 is
 * free of GitHub's rate limit, and the page's issues as we stored them are kept), and an
 * issue's comments are read only when its `updated_at` moved. The listing is complete, so an
 * issue deleted, transferred to another repository or reopened disappears from the source.
 * Discussions come from the GraphQL API, compared by `updatedAt` the same way. Rate limits
 * (`x-ratelimit-remaining: 0` until `x-ratelimit-reset`, secondary limits' `retry-after` or
 * else a minute) are waited out by the sync's fetch; GraphQL's own (HTTP 200 with an error:
 * RATE_LIMITED, or a message saying a secondary limit was hit) here, through the sync's wait,
 * before the same page is asked again. A discussions page that times out or comes back
 * partial is asked again smaller, and at worst read one discussion at a time, so only what
 * cannot be read fails. One issue's trouble (comments failing, deleted since) is that issue's.
 * GITHUB_TOKEN authenticates (required for discussions and private repositories) and goes to
 * api.github.com or the GitHub Enterprise API named in GITHUB_API_URL only, never to an API
 * derived from the URL a user added, nor to another host a `Link` header names.
 */
import type { Octokit } from '@octokit/rest';
import { withoutTrailingSlashes } from '../../text/trailing-slashes.js';
import { isLoopbackHost } from './environment.js';
import { readWhole, resetWaitMs, retryAfterMs, SECONDARY_LIMIT_WAIT_MS } from './http.js';
import {
  type Environment,
  type ItemEvent,
  SourceError,
  type SourceKind,
  type SyncContext,
  type SyncEnd,
} from './kind.js';
import { nextLink } from './link-header.js';

interface Target {
  readonly apiUrl: string;
  readonly owner: string;
  readonly repo: string;
  readonly what: 'issues' | 'discussions';
  readonly includeOpen: boolean;
}

interface ListedIssue {
  readonly number: number;
  readonly updatedAt: string;
}

interface ListedPage {
  readonly etag: string;
  readonly issues: readonly ListedIssue[];
  /** The page after it (a 304 carries no Link header). */
  readonly next?: string;
}

interface GitHubState {
  /** Per listing page: its ETag, the issues it held and the next page. */
  readonly pages?: readonly ListedPage[];
}

/**
 * Comments read per issue at most: the first ones (the report, the first diagnosis) and the
 * last ones (where the resolution usually is); a passage says how many were left between.
 */
const FIRST_COMMENTS = 150;
const LAST_COMMENTS = 150;
const MAX_COMMENTS = FIRST_COMMENTS + LAST_COMMENTS;
/** Issues or discussions read per sync at most. */
const MAX_ITEMS = 20_000;
/**
 * Listing pages asked per sync at most, whatever the server's `Link: rel="next"` or
 * `hasNextPage` say: enough for MAX_ITEMS with pull requests (which share the issues listing)
 * four times over; a server that never stops cannot hold a sync in one listing.
 */
const MAX_LISTING_PAGES = Math.ceil(MAX_ITEMS / 100) * 5;

/**
 * Largest answer read: 100 issues or comments of GitHub's largest (65,536 characters each) are
 * under 10 MB.
 */
const MAX_RESPONSE_BYTES = 32 * 1_048_576;

/** Hosts whose API is api.github.com. */
const DOTCOM = new Set(['github.com', 'www.github.com']);

/**
 * The hosts whose issues the configured API serves: GitHub Enterprise Server's own host
 * (`https://ghe.example.com/api/v3`), and for an `api.` host (GHE.com's
 * `https://api.acme.ghe.com`) the web host after it.
 */
function hostsOfApi(apiUrl: string): Set<string> {
  const host = new URL(apiUrl).hostname.toLowerCase();
  return new Set(host.startsWith('api.') ? [host, host.slice(4)] : [host]);
}

/**
 * The API a URL's issues are read from. Never derived from the URL itself: GITHUB_TOKEN goes
 * to api.github.com for github.com, or to the API the operator named in GITHUB_API_URL; any
 * other host (`github.evil.example`) would receive the token, so it is refused.
 */
function apiUrlFor(url: URL, env: Environment): string {
  const host = url.hostname.toLowerCase();
  const trimmed = env.GITHUB_API_URL?.trim();
  const configured = trimmed === undefined ? undefined : withoutTrailingSlashes(trimmed);
  if (configured && (DOTCOM.has(host) || hostsOfApi(configured).has(host))) return configured;
  if (DOTCOM.has(host)) return 'https://api.github.com';
  throw new SourceError(
    `${url.origin} is not github.com${configured ? ' or the GitHub Enterprise host in GITHUB_API_URL' : ''}: to read a GitHub Enterprise server's ${url.pathname.split('/')[3] ?? 'issues'}, set GITHUB_API_URL to its API (e.g. ${url.origin.replace(/^http:/, 'https:')}/api/v3)`,
  );
}

/** Whether a URL is this kind's: a github.com, GitHub Enterprise-looking or configured host. */
function looksLikeGitHub(url: URL, env: Environment): boolean {
  const host = url.hostname.toLowerCase();
  const configured = env.GITHUB_API_URL?.trim();
  return (
    DOTCOM.has(host) ||
    host.startsWith('github.') ||
    (configured !== undefined && configured !== '' && hostsOfApi(configured).has(host))
  );
}

function parseTarget(url: URL, env: Environment): Target | undefined {
  const segments = url.pathname.split('/').filter(Boolean);
  if (segments[2] !== 'issues' && segments[2] !== 'discussions') return undefined;
  if (!looksLikeGitHub(url, env)) return undefined;
  const apiUrl = apiUrlFor(url, env);
  if (segments.length !== 3) {
    // One issue or discussion (`…/issues/12`): a source is a repository's whole list.
    const list = `${url.origin}/${segments[0]}/${segments[1]}/${segments[2]}`;
    throw new SourceError(
      `${url.href} is one ${segments[2] === 'issues' ? 'issue' : 'discussion'}; a source reads a repository's ${segments[2]}: add ${list} (${segments[2] === 'issues' ? 'closed ones' : 'answered ones'}), or ${list}?state=all`,
    );
  }
  return {
    apiUrl,
    owner: segments[0]!,
    repo: segments[1]!,
    what: segments[2],
    includeOpen: url.searchParams.get('state') === 'all',
  };
}

/**
 * An answer that should be a list, as one. Octokit hands over whatever the body was when it is
 * not JSON (a body cut off half-way, a proxy's HTML page) as a string, which would read as a
 * list of characters: an issues page of "issues" with no number, the real ones pruned.
 */
function listOf<T>(data: unknown, what: string): T[] {
  if (Array.isArray(data)) return data as T[];
  throw new SourceError(`GitHub answered the ${what} with something other than a list`);
}

/** Why a request failed, in words: its status, or, for one that never got an answer, what happened. */
function failure(error: unknown): string {
  const status = statusOf(error);
  const message = ((error as Error).message ?? 'request failed').slice(0, 200);
  // Octokit reports a request that failed on its way (a body past its limit, a reset) as a 500.
  if (status === 500 && (error as { cause?: unknown }).cause !== undefined) return message;
  return status ? `HTTP ${status}` : message;
}

function isState(value: unknown): value is GitHubState {
  return typeof value === 'object' && value !== null;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown }).status;
  return typeof status === 'number' ? status : undefined;
}

/** A refusal of ours (an address off the API) that Octokit wrapped as a failed request. */
function refusalIn(error: unknown): SourceError | undefined {
  if (error instanceof SourceError) return error;
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof SourceError ? cause : undefined;
}

/**
 * A server error that may pass (a 502, a 504 timeout; Octokit reports a request that failed on
 * its way as a 500): not the sync cancelled, not one of our refusals.
 */
function passing(error: unknown, context: SyncContext): boolean {
  const status = statusOf(error);
  return (
    status !== undefined &&
    status >= 500 &&
    !context.signal?.aborted &&
    refusalIn(error) === undefined &&
    (error as Error).name !== 'AbortError'
  );
}

/** A request failure that stops the sync, in words naming what to fix (never the token). */
function explain(error: unknown, target: Target, hasToken: boolean): Error {
  const refusal = refusalIn(error);
  if (refusal) return refusal;
  const status = statusOf(error);
  const where = `${target.owner}/${target.repo}`;
  if (status === 401) {
    return new SourceError(
      hasToken
        ? `GitHub refused the token in GITHUB_TOKEN (HTTP 401): it may be revoked or expired`
        : `GitHub needs a token for ${where}: set GITHUB_TOKEN`,
    );
  }
  if (status === 403) {
    // An organization with SAML single sign-on refuses a token not authorized for it, whatever
    // its permissions (GitHub says so in its message): the fix is on the token's settings page.
    if (/\bSAML\b/.test((error as Error).message ?? '')) {
      return new SourceError(
        `GitHub refused access to ${where} (HTTP 403): its organization uses SAML single sign-on; authorize the token in GITHUB_TOKEN for it (github.com → Settings → Developer settings → the token → Configure SSO)`,
      );
    }
    return new SourceError(
      hasToken
        ? `GitHub refused access to ${where} (HTTP 403): the token in GITHUB_TOKEN lacks read access to its ${target.what}`
        : `GitHub refused access to ${where} (HTTP 403) without a token: set GITHUB_TOKEN to one with read access to its ${target.what}`,
    );
  }
  if (status === 404) {
    return new SourceError(
      `no repository ${where} on GitHub${hasToken ? ' that the token in GITHUB_TOKEN can read' : ' (if it is private, set GITHUB_TOKEN)'}`,
    );
  }
  if (error instanceof SourceError) return error;
  return new SourceError(`GitHub: ${(error as Error).message?.slice(0, 300) ?? 'request failed'}`);
}

interface IssueData {
  readonly number: number;
  readonly title: string;
  readonly body?: string | null;
  readonly state: string;
  readonly state_reason?: string | null;
  readonly html_url: string;
  readonly updated_at: string;
  readonly comments: number;
  readonly pull_request?: unknown;
}

interface CommentData {
  readonly body?: string | null;
  readonly user?: { readonly type?: string } | null;
}

function issueMarkdown(issue: IssueData, comments: readonly CommentData[], leftOut = 0, at = 0): string {
  const status =
    issue.state === 'closed'
      ? `closed${issue.state_reason ? ` as ${issue.state_reason.replace('_', ' ')}` : ''}`
      : 'open';
  const parts = [
    `# ${issue.title} (#${issue.number})`,
    '',
    `**Issue (${status}):** ${issue.body?.trim() || '(no description)'}`,
  ];
  // People's names are left out, as for saved threads; bots' comments are noise.
  comments.forEach((comment, index) => {
    if (leftOut > 0 && index === at) {
      parts.push('', `*(${leftOut} comments left out here; the first and the last ones are kept.)*`);
    }
    if (comment.user?.type === 'Bot' || !comment.body?.trim()) return;
    parts.push('', `**Comment:** ${comment.body.trim()}`);
  });
  return parts.join('\n');
}

/**
 * An issue's last LAST_COMMENTS comments, of `total`, read by page number at the page size the
 * server used for the first page (GitHub's: up to 100).
 */
async function lastComments(
  octokit: Octokit,
  target: Target,
  issueNumber: number,
  total: number,
  perPage: number,
): Promise<CommentData[]> {
  const from = Math.max(FIRST_COMMENTS, total - LAST_COMMENTS);
  const firstPage = Math.floor(from / perPage) + 1;
  const lastPage = Math.ceil(total / perPage);
  const read: CommentData[] = [];
  for (let page = firstPage; page <= lastPage; page++) {
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', {
      owner: target.owner,
      repo: target.repo,
      issue_number: issueNumber,
      per_page: perPage,
      page,
    });
    const comments = listOf<CommentData>(data, 'comments');
    if (comments.length === 0) break;
    read.push(...comments);
  }
  return read.slice(from - (firstPage - 1) * perPage).slice(0, LAST_COMMENTS);
}

/** One issue with its comments as a document, or a failure that keeps what it had. */
async function readIssue(
  octokit: Octokit,
  target: Target,
  issue: IssueData,
  context: SyncContext,
): Promise<ItemEvent> {
  const key = String(issue.number);
  let comments: CommentData[];
  let leftOut = 0;
  try {
    comments = [];
    if (issue.comments > 0) {
      // Page by page through the Link header, up to a bound.
      for await (const response of octokit.paginate.iterator(
        'GET /repos/{owner}/{repo}/issues/{issue_number}/comments',
        { owner: target.owner, repo: target.repo, issue_number: issue.number, per_page: 100 },
      )) {
        const page = listOf<CommentData>(response.data, 'comments');
        // An empty page that names a next one would be asked for ever: the comments end here.
        if (page.length === 0) break;
        comments.push(...page);
        if (issue.comments > MAX_COMMENTS && comments.length >= FIRST_COMMENTS) {
          comments.length = FIRST_COMMENTS;
          const last = await lastComments(octokit, target, issue.number, issue.comments, page.length);
          leftOut = Math.max(0, issue.comments - FIRST_COMMENTS - last.length);
          comments.push(...last);
          break;
        }
        if (comments.length >= MAX_COMMENTS) break;
      }
    }
  } catch (error) {
    const status = statusOf(error);
    if (status === 401) throw error;
    return {
      type: 'failed',
      key,
      reason: `comments: ${failure(error)}`,
    };
  }
  // People's text is chunked in the parse pool, with its budgets, like any document.
  const title = `${issue.title} (#${issue.number})`;
  try {
    const parsed = await context.parse({
      format: 'issue',
      text: issueMarkdown(issue, comments, leftOut, FIRST_COMMENTS),
      url: issue.html_url,
      anchors: false,
    });
    return {
      type: 'document',
      key,
      url: issue.html_url,
      title,
      markdown: parsed.markdown,
      chunks: parsed.chunks,
      version: issue.updated_at,
      anchors: false,
    };
  } catch (error) {
    return { type: 'failed', key, reason: (error as Error).message.slice(0, 200) };
  }
}

/**
 * An issue listed on a page that has not changed (a 304) but whose last read failed, read
 * alone. What happened to it since is this item's alone: deleted (410) it is gone, with its
 * passages; reopened or closed as a duplicate it is gone from this source; a 404 or a server
 * error fails it until next time (the listing decides whether it is still there).
 */
async function rereadIssue(
  octokit: Octokit,
  target: Target,
  issueNumber: number,
  context: SyncContext,
  wanted: (issue: IssueData) => boolean,
): Promise<ItemEvent> {
  const key = String(issueNumber);
  let issue: IssueData;
  try {
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}', {
      owner: target.owner,
      repo: target.repo,
      issue_number: issueNumber,
    });
    issue = data as IssueData;
  } catch (error) {
    const status = statusOf(error);
    if (status === 401) throw error;
    if (status === 410) return { type: 'gone', key, reason: 'deleted' };
    return {
      type: 'failed',
      key,
      reason: status ? `HTTP ${status}` : ((error as Error).message ?? 'request failed').slice(0, 200),
    };
  }
  if (!wanted(issue)) return { type: 'gone', key, reason: 'no longer closed' };
  return readIssue(octokit, target, issue, context);
}

async function* syncIssues(
  octokit: Octokit,
  target: Target,
  context: SyncContext,
  hasToken: boolean,
): AsyncGenerator<ItemEvent, SyncEnd, void> {
  const previous = isState(context.state) ? (context.state.pages ?? []) : [];
  const pages: ListedPage[] = [];
  const wanted = (issue: IssueData) =>
    issue.pull_request === undefined &&
    issue.state_reason !== 'duplicate' &&
    (issue.state === 'closed' || target.includeOpen);
  let url: string | undefined =
    `/repos/${encodeURIComponent(target.owner)}/${encodeURIComponent(target.repo)}/issues?state=${target.includeOpen ? 'all' : 'closed'}&sort=created&direction=asc&per_page=100`;
  let count = 0;
  /** The listing was cut short: past the page bound, or a page with nothing that named a next. */
  let cut = false;
  try {
    for (let page = 0; url && count < MAX_ITEMS; page++) {
      context.signal?.throwIfAborted();
      if (page >= MAX_LISTING_PAGES) {
        cut = true;
        break;
      }
      const before = previous[page];
      let response: { data: unknown; headers: { etag?: string; link?: string } } | undefined;
      try {
        response = await octokit.request(`GET ${url}`, {
          headers: before?.etag ? { 'if-none-match': before.etag } : {},
        });
      } catch (error) {
        const status = statusOf(error);
        if (page > 0 && passing(error, context)) {
          // A later page still failing after the fetch's retries (a 502, a 504 timeout): what was
          // listed stands, the rest is read next time, and nothing is pruned.
          yield { type: 'failed', key: `issues page ${page + 1}`, reason: `HTTP ${status}` };
          cut = true;
          url = undefined;
          break;
        }
        if (status !== 304 || !before) throw error;
      }
      if (!response && before) {
        // Nothing on this page changed (a 304, free of the rate limit): its issues are as
        // stored, except one whose last read failed, which is read again.
        pages.push(before);
        for (const listed of before.issues) {
          count++;
          const key = String(listed.number);
          if (context.known.get(key)?.version === listed.updatedAt) {
            yield { type: 'unchanged', key };
            continue;
          }
          yield await rereadIssue(octokit, target, listed.number, context, wanted);
        }
        url = before.next;
        continue;
      }
      const listed: ListedIssue[] = [];
      const data = response ? listOf<IssueData>(response.data, 'issues listing') : [];
      for (const issue of data) {
        if (!wanted(issue)) continue;
        count++;
        listed.push({ number: issue.number, updatedAt: issue.updated_at });
        const key = String(issue.number);
        // Incremental by updated_at: an issue that has not moved is not read again.
        if (context.known.get(key)?.version === issue.updated_at) yield { type: 'unchanged', key };
        else yield await readIssue(octokit, target, issue, context);
      }
      url = nextLink(response?.headers.link);
      if (data.length === 0 && url) {
        // GitHub ends a listing with its last non-empty page: an empty one naming a next is a
        // server that would be asked for ever. What was listed stays; nothing is pruned.
        cut = true;
        url = undefined;
      }
      pages.push({
        etag: String(response?.headers.etag ?? ''),
        issues: listed,
        ...(url ? { next: url } : {}),
      });
    }
  } catch (error) {
    throw explain(error, target, hasToken);
  }
  // Every issue was listed: one no longer there was deleted, transferred or reopened.
  return { state: { pages } satisfies GitHubState, complete: !url && !cut };
}

const DISCUSSION_FIELDS = `number title url body updatedAt isAnswered closed
        category { name }
        answer { body updatedAt }`;

/** A page of discussions, `first` of them: smaller when a bigger one timed out. */
const DISCUSSIONS_QUERY = `query($owner: String!, $name: String!, $after: String, $first: Int!) {
  repository(owner: $owner, name: $name) {
    discussions(first: $first, after: $after, orderBy: { field: CREATED_AT, direction: ASC }) {
      pageInfo { hasNextPage endCursor }
      nodes { ${DISCUSSION_FIELDS} }
    }
  }
}`;

/** The same page with numbers only: light enough where the whole page would not come back. */
const DISCUSSION_NUMBERS_QUERY = `query($owner: String!, $name: String!, $after: String, $first: Int!) {
  repository(owner: $owner, name: $name) {
    discussions(first: $first, after: $after, orderBy: { field: CREATED_AT, direction: ASC }) {
      pageInfo { hasNextPage endCursor }
      nodes { number }
    }
  }
}`;

/** One discussion by its number. */
const DISCUSSION_QUERY = `query($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    discussion(number: $number) { ${DISCUSSION_FIELDS} }
  }
}`;

interface DiscussionNode {
  readonly number: number;
  readonly title: string;
  readonly url: string;
  readonly body: string;
  readonly updatedAt: string;
  readonly isAnswered: boolean | null;
  readonly category?: { readonly name: string } | null;
  readonly answer?: { readonly body: string; readonly updatedAt: string } | null;
}

interface PageInfo {
  readonly hasNextPage: boolean;
  readonly endCursor: string | null;
}

interface DiscussionsPage<Node = DiscussionNode> {
  readonly repository: {
    readonly discussions: { readonly pageInfo: PageInfo; readonly nodes: readonly (Node | null)[] };
  } | null;
}

interface OneDiscussion {
  readonly repository: { readonly discussion: DiscussionNode | null } | null;
}

/** Discussions asked per page at first, and at least when a page is asked again smaller. */
const PAGE_SIZE = 50;
const MIN_PAGE_SIZE = 5;
/** Times one page is asked again (smaller each time) after a timeout or a partial result. */
const PAGE_RETRIES = 3;
/** Rate-limit waits one GraphQL query may take before the sync gives up. */
const MAX_LIMIT_WAITS = 5;

interface GraphqlFailure {
  readonly status?: number;
  readonly errors?: readonly { readonly type?: string; readonly message?: string }[];
  readonly headers?: Record<string, string | undefined>;
}

/**
 * How long a GraphQL answer asks us to wait, or undefined when it is no limit. Both come as
 * HTTP 200 with `errors` (Octokit throws on any), so the fetch below sees no limit:
 *  - a secondary limit, an error whose message says so: its `retry-after`, else a minute,
 *    doubling each time it repeats (GitHub: "wait for at least one minute", exponentially
 *    longer while it lasts);
 *  - the primary limit, type RATE_LIMITED: until `x-ratelimit-reset` when none remain (or its
 *    `retry-after`), else as a secondary limit.
 * (The same limits sent as a 403 or 429 are waited out by the sync's fetch.)
 */
function graphqlLimitWait(error: unknown, now: number, repeated: number): number | undefined {
  const { errors, headers } = error as GraphqlFailure;
  if (!errors) return undefined;
  const retryAfter = retryAfterMs(headers?.['retry-after'] ?? null, now);
  const backoff = SECONDARY_LIMIT_WAIT_MS * 2 ** repeated;
  if (errors.some((e) => /secondary rate limit/i.test(e.message ?? ''))) return retryAfter ?? backoff;
  if (!errors.some((e) => e.type === 'RATE_LIMITED')) return undefined;
  const reset =
    headers?.['x-ratelimit-remaining'] === '0' ? resetWaitMs(headers['x-ratelimit-reset'], now) : undefined;
  return retryAfter ?? reset ?? backoff;
}

/**
 * A query that did not come back whole: a timeout (GitHub answers 502 or 504, or our own time
 * limit ran out, which Octokit reports as a 500), another server error, or a 200 whose errors
 * say the query was stopped with partial results. Asked again smaller, it may pass.
 */
function incomplete(error: unknown, context: SyncContext): boolean {
  const { errors } = error as GraphqlFailure;
  if (errors) return !errors.some((e) => e.type === 'NOT_FOUND' || e.type === 'FORBIDDEN');
  return passing(error, context);
}

function whyIncomplete(error: unknown): string {
  const { status, errors } = error as GraphqlFailure;
  if (errors) return `partial result: ${(errors[0]?.message ?? 'an error').slice(0, 160)}`;
  return `HTTP ${status}`;
}

async function* syncDiscussions(
  octokit: Octokit,
  target: Target,
  context: SyncContext,
  hasToken: boolean,
): AsyncGenerator<ItemEvent, SyncEnd, void> {
  if (!hasToken) throw new SourceError("GitHub's discussions API needs a token: set GITHUB_TOKEN");
  const where = { owner: target.owner, name: target.repo };
  const notFound = (error: unknown) =>
    (error as GraphqlFailure).errors?.some((e) => e.type === 'NOT_FOUND') === true;

  /** One query, GraphQL's limits waited out on the sync's clock (within its budget). */
  const ask = async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
    for (let waits = 0; ; waits++) {
      try {
        return await octokit.graphql<T>(query, variables);
      } catch (error) {
        const wait = graphqlLimitWait(error, context.now(), waits);
        if (wait === undefined || waits >= MAX_LIMIT_WAITS) throw error;
        await context.wait(wait, `${target.apiUrl} (GraphQL)`);
      }
    }
  };
  const fail = (error: unknown): Error =>
    notFound(error) ? explain({ status: 404 }, target, hasToken) : explain(error, target, hasToken);

  let after: string | null = null;
  let size = PAGE_SIZE;
  let count = 0;
  let cut = false;
  for (let pages = 0; ; pages++) {
    context.signal?.throwIfAborted();
    if (pages >= MAX_LISTING_PAGES) {
      cut = true;
      break;
    }
    // The page, asked again smaller after a timeout or a partial result.
    let page: DiscussionsPage | undefined;
    let trouble: unknown;
    for (let attempt = 0; attempt <= PAGE_RETRIES; attempt++) {
      try {
        page = await ask<DiscussionsPage>(DISCUSSIONS_QUERY, { ...where, after, first: size });
        break;
      } catch (error) {
        if (!incomplete(error, context)) throw fail(error);
        trouble = error;
        size = Math.max(MIN_PAGE_SIZE, Math.floor(size / 2));
        context.logger.info(
          { url: context.url, reason: whyIncomplete(error), pageSize: size },
          'a page of discussions did not come back whole: asking for fewer',
        );
      }
    }
    let nodes: readonly (DiscussionNode | null)[];
    let pageInfo: PageInfo;
    if (page) {
      if (!page.repository) throw explain({ status: 404 }, target, hasToken);
      ({ nodes, pageInfo } = page.repository.discussions);
      size = Math.min(PAGE_SIZE, size * 2);
    } else {
      // Not even a small page comes back whole: its discussions by number, then one by one,
      // so only the one that cannot be read fails (and keeps what it had).
      let numbers: DiscussionsPage<{ readonly number: number }>;
      try {
        numbers = await ask(DISCUSSION_NUMBERS_QUERY, { ...where, after, first: size });
      } catch (error) {
        if (!incomplete(error, context)) throw fail(error);
        // Nothing past this point can be reached this time: what was read stands, none is pruned.
        yield {
          type: 'failed',
          key: `discussions after #${count}`,
          reason: `${whyIncomplete(trouble)}; then ${whyIncomplete(error)}`,
        };
        cut = true;
        break;
      }
      if (!numbers.repository) throw explain({ status: 404 }, target, hasToken);
      pageInfo = numbers.repository.discussions.pageInfo;
      const read: DiscussionNode[] = [];
      for (const listed of numbers.repository.discussions.nodes) {
        if (!listed) continue;
        try {
          const one = await ask<OneDiscussion>(DISCUSSION_QUERY, { ...where, number: listed.number });
          if (one.repository?.discussion) read.push(one.repository.discussion);
        } catch (error) {
          if (!incomplete(error, context)) throw fail(error);
          yield { type: 'failed', key: String(listed.number), reason: whyIncomplete(error) };
        }
      }
      nodes = read;
      if (numbers.repository.discussions.nodes.length === 0 && pageInfo.hasNextPage) {
        cut = true;
        break;
      }
    }
    for (const node of nodes) {
      if (!node || count >= MAX_ITEMS) continue;
      if (!node.isAnswered && !target.includeOpen) continue;
      count++;
      yield await discussionEvent(node, context);
    }
    if (!pageInfo.hasNextPage || !pageInfo.endCursor || count >= MAX_ITEMS) break;
    if (page && nodes.length === 0) {
      // No discussions, yet "more": asked again it would say the same for ever.
      cut = true;
      break;
    }
    after = pageInfo.endCursor;
  }
  return { complete: count < MAX_ITEMS && !cut };
}

/** A discussion as a document (unchanged when neither it nor its answer moved). */
async function discussionEvent(node: DiscussionNode, context: SyncContext): Promise<ItemEvent> {
  const key = String(node.number);
  const version = `${node.updatedAt}|${node.answer?.updatedAt ?? ''}`;
  if (context.known.get(key)?.version === version) return { type: 'unchanged', key };
  const parts = [
    `# ${node.title} (discussion #${node.number})`,
    '',
    `**Question${node.category ? ` (${node.category.name})` : ''}:** ${node.body.trim() || '(no text)'}`,
  ];
  if (node.answer?.body.trim()) parts.push('', `**Accepted answer:** ${node.answer.body.trim()}`);
  try {
    const parsed = await context.parse({
      format: 'issue',
      text: parts.join('\n'),
      url: node.url,
      anchors: false,
    });
    return {
      type: 'document',
      key,
      url: node.url,
      title: `${node.title} (discussion #${node.number})`,
      markdown: parsed.markdown,
      chunks: parsed.chunks,
      version,
      anchors: false,
    };
  } catch (error) {
    return { type: 'failed', key, reason: (error as Error).message.slice(0, 200) };
  }
}

export const githubKind: SourceKind = {
  name: 'github',
  label: 'GitHub issues/discussions',
  noun: 'item(s)',
  maxResponseBytes: MAX_RESPONSE_BYTES,

  recognise(url: URL, env: Environment) {
    const target = parseTarget(url, env);
    if (!target) return undefined;
    return `${url.origin}/${target.owner}/${target.repo}/${target.what}${target.includeOpen ? '?state=all' : ''}`;
  },

  async *sync(context: SyncContext): AsyncGenerator<ItemEvent, SyncEnd, void> {
    const target = parseTarget(new URL(context.url), context.env);
    if (!target) throw new SourceError(`${context.url} is not a GitHub issues or discussions URL`);
    const token = context.env.GITHUB_TOKEN?.trim() || undefined;
    const api = new URL(target.apiUrl);
    if (token && api.protocol !== 'https:' && !isLoopbackHost(api.hostname)) {
      // A token over plain http is readable by anyone on the way.
      throw new SourceError(
        `GITHUB_API_URL is ${api.protocol.replace(':', '')}://: GITHUB_TOKEN is sent over https only; set it to the https:// address of the API`,
      );
    }
    // Every request stays on the API's origin: a `Link` header's next page (the issues
    // listing's, Octokit's paginate of comments) naming another host is refused before the
    // token would go with it.
    const onApi: typeof fetch = async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.origin !== api.origin) {
        throw new SourceError(
          `GitHub pointed a next page at ${url.origin}; ${token ? 'GITHUB_TOKEN is' : 'requests are'} sent to ${api.origin} only`,
        );
      }
      // Read whole here: Octokit takes a body that fails half-way for the text read so far.
      return readWhole(await context.fetch(input, init));
    };
    const { Octokit } = await import('@octokit/rest');
    const quiet = () => undefined;
    const octokit = new Octokit({
      ...(token ? { auth: token } : {}),
      baseUrl: target.apiUrl,
      userAgent: 'rag-chat-bot',
      request: { fetch: onApi },
      log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    });
    return yield* target.what === 'issues'
      ? syncIssues(octokit, target, context, token !== undefined)
      : syncDiscussions(octokit, target, context, token !== undefined);
  },
};
