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
 * else a minute) are waited out by the sync's fetch; GraphQL's own (an HTTP 200 whose error is
 * RATE_LIMITED) here, before the same page is asked again. GITHUB_TOKEN authenticates (required for discussions and
 * private repositories) and goes to api.github.com or the GitHub Enterprise API named in
 * GITHUB_API_URL only, never to an API derived from the URL a user added.
 */
import type { Octokit } from '@octokit/rest';
import { withoutTrailingSlashes } from '../../text/trailing-slashes.js';
import { isLoopbackHost } from './environment.js';
import { resetWaitMs, SECONDARY_LIMIT_WAIT_MS } from './http.js';
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

/** Comments read per issue at most: the answer is in them long before this. */
const MAX_COMMENTS = 300;
/** Issues or discussions read per sync at most. */
const MAX_ITEMS = 20_000;
/**
 * Listing pages asked per sync at most, whatever the server's `Link: rel="next"` or
 * `hasNextPage` say: enough for MAX_ITEMS with pull requests (which share the issues listing)
 * four times over; a server that never stops cannot hold a sync in one listing.
 */
const MAX_LISTING_PAGES = Math.ceil(MAX_ITEMS / 100) * 5;

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

function isState(value: unknown): value is GitHubState {
  return typeof value === 'object' && value !== null;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown }).status;
  return typeof status === 'number' ? status : undefined;
}

/** A request failure that stops the sync, in words naming what to fix (never the token). */
function explain(error: unknown, target: Target, hasToken: boolean): Error {
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
    return new SourceError(
      `GitHub refused access to ${where} (HTTP 403): the token in GITHUB_TOKEN lacks read access to its ${target.what}`,
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

function issueMarkdown(issue: IssueData, comments: readonly CommentData[]): string {
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
  for (const comment of comments) {
    if (comment.user?.type === 'Bot' || !comment.body?.trim()) continue;
    parts.push('', `**Comment:** ${comment.body.trim()}`);
  }
  return parts.join('\n');
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
  try {
    comments = [];
    if (issue.comments > 0) {
      // Page by page through the Link header, up to a bound.
      for await (const response of octokit.paginate.iterator(
        'GET /repos/{owner}/{repo}/issues/{issue_number}/comments',
        { owner: target.owner, repo: target.repo, issue_number: issue.number, per_page: 100 },
      )) {
        const page = response.data as CommentData[];
        // An empty page that names a next one would be asked for ever: the comments end here.
        if (page.length === 0) break;
        comments.push(...page);
        if (comments.length >= MAX_COMMENTS) break;
      }
    }
  } catch (error) {
    const status = statusOf(error);
    if (status === 401) throw error;
    return {
      type: 'failed',
      key,
      reason: `comments: ${status ? `HTTP ${status}` : (error as Error).message}`,
    };
  }
  // People's text is chunked in the parse pool, with its budgets, like any document.
  const title = `${issue.title} (#${issue.number})`;
  try {
    const parsed = await context.parse({
      format: 'issue',
      text: issueMarkdown(issue, comments),
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
        if (statusOf(error) !== 304 || !before) throw error;
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
          const { data } = await octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}', {
            owner: target.owner,
            repo: target.repo,
            issue_number: listed.number,
          });
          yield await readIssue(octokit, target, data as IssueData, context);
        }
        url = before.next;
        continue;
      }
      const listed: ListedIssue[] = [];
      const data = (response?.data ?? []) as IssueData[];
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

const DISCUSSIONS_QUERY = `query($owner: String!, $name: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    discussions(first: 50, after: $after, orderBy: { field: CREATED_AT, direction: ASC }) {
      pageInfo { hasNextPage endCursor }
      nodes {
        number title url body updatedAt isAnswered closed
        category { name }
        answer { body updatedAt }
      }
    }
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

interface DiscussionsPage {
  readonly repository: {
    readonly discussions: {
      readonly pageInfo: { readonly hasNextPage: boolean; readonly endCursor: string | null };
      readonly nodes: readonly (DiscussionNode | null)[];
    };
  } | null;
}

/** Rate-limit waits one discussions page may take before the sync gives up. */
const MAX_LIMIT_WAITS = 5;

/**
 * GraphQL's primary limit comes as HTTP 200 with an error of type RATE_LIMITED (and
 * `x-ratelimit-remaining: 0` until `x-ratelimit-reset`), so the fetch below Octokit sees no
 * limit: the wait is read from the error Octokit throws.
 */
function graphqlLimitWait(error: unknown, now: number): number | undefined {
  const { errors, headers } = error as {
    errors?: { type?: string }[];
    headers?: Record<string, string | undefined>;
  };
  if (!errors?.some((e) => e.type === 'RATE_LIMITED')) return undefined;
  return resetWaitMs(headers?.['x-ratelimit-reset'], now) ?? SECONDARY_LIMIT_WAIT_MS;
}

async function* syncDiscussions(
  octokit: Octokit,
  target: Target,
  context: SyncContext,
  hasToken: boolean,
): AsyncGenerator<ItemEvent, SyncEnd, void> {
  if (!hasToken) throw new SourceError("GitHub's discussions API needs a token: set GITHUB_TOKEN");
  let after: string | null = null;
  let count = 0;
  let limited = 0;
  let cut = false;
  /** Pages read (a rate-limited ask is bounded by MAX_LIMIT_WAITS instead). */
  let pages = 0;
  for (;;) {
    context.signal?.throwIfAborted();
    if (pages >= MAX_LISTING_PAGES) {
      cut = true;
      break;
    }
    let page: DiscussionsPage;
    try {
      page = await octokit.graphql<DiscussionsPage>(DISCUSSIONS_QUERY, {
        owner: target.owner,
        name: target.repo,
        after,
      });
      pages++;
      limited = 0;
    } catch (error) {
      const wait = graphqlLimitWait(error, context.now());
      if (wait !== undefined && limited < MAX_LIMIT_WAITS) {
        // Over GraphQL's primary limit: wait for its reset, then ask for the same page again.
        limited++;
        context.logger.info(
          { waitSeconds: Math.round(wait / 1000), url: context.url },
          'rate limited: waiting, then resuming the sync',
        );
        await context.sleep(wait);
        continue;
      }
      const errors = (error as { errors?: { type?: string }[] }).errors;
      if (errors?.some((e) => e.type === 'NOT_FOUND')) throw explain({ status: 404 }, target, hasToken);
      throw explain(error, target, hasToken);
    }
    if (!page.repository) throw explain({ status: 404 }, target, hasToken);
    const { nodes, pageInfo } = page.repository.discussions;
    for (const node of nodes) {
      if (!node || count >= MAX_ITEMS) continue;
      if (!node.isAnswered && !target.includeOpen) continue;
      count++;
      const key = String(node.number);
      const version = `${node.updatedAt}|${node.answer?.updatedAt ?? ''}`;
      if (context.known.get(key)?.version === version) {
        yield { type: 'unchanged', key };
        continue;
      }
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
        yield {
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
        yield { type: 'failed', key, reason: (error as Error).message.slice(0, 200) };
      }
    }
    if (!pageInfo.hasNextPage || !pageInfo.endCursor || count >= MAX_ITEMS) break;
    if (nodes.length === 0) {
      // No discussions, yet "more": asked again it would say the same for ever.
      cut = true;
      break;
    }
    after = pageInfo.endCursor;
  }
  return { complete: count < MAX_ITEMS && !cut };
}

export const githubKind: SourceKind = {
  name: 'github',
  label: 'GitHub issues/discussions',
  noun: 'item(s)',

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
    const { Octokit } = await import('@octokit/rest');
    const quiet = () => undefined;
    const octokit = new Octokit({
      ...(token ? { auth: token } : {}),
      baseUrl: target.apiUrl,
      userAgent: 'rag-chat-bot',
      request: { fetch: context.fetch },
      log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    });
    return yield* target.what === 'issues'
      ? syncIssues(octokit, target, context, token !== undefined)
      : syncDiscussions(octokit, target, context, token !== undefined);
  },
};
