/**
 * Git repository URLs as people paste them, and the web view a citation links to. GitHub
 * (`/org/repo`, `/org/repo/tree/<ref>/<path>`, a file's `/org/repo/blob/<ref>/<path>`),
 * GitLab (`/group/repo/-/tree/<ref>/<path>`, `…/-/blob/…`), Gitea and Forgejo
 * (`/org/repo/src/branch/<ref>/<path>`), Bitbucket Cloud (`/workspace/repo/src/<ref>/<path>`),
 * and any smart-HTTP host by a URL ending in `.git`. A URL's ref may itself contain slashes, so
 * the segments after it are split into ref and path against the server's refs when the source
 * syncs; the path may be a folder or one file.
 */

export type HostStyle = 'github' | 'gitlab' | 'gitea' | 'bitbucket' | 'plain';

export interface RepoLocation {
  /** The smart-HTTP URL to fetch from. */
  readonly cloneUrl: string;
  /** The repository's page on its host (what a citation builds on). */
  readonly webUrl: string;
  readonly style: HostStyle;
  /** Path segments after `tree/` (ref, then path), to split once the refs are known. */
  readonly refAndPath: readonly string[];
}

/** Hosts whose web view is known from the name alone. */
function styleOfHost(hostname: string): HostStyle | undefined {
  const host = hostname.toLowerCase();
  if (host === 'github.com' || host === 'www.github.com') return 'github';
  if (host === 'gitlab.com' || host.startsWith('gitlab.')) return 'gitlab';
  if (host === 'codeberg.org' || host.startsWith('gitea.') || host.startsWith('forgejo.')) return 'gitea';
  if (host === 'bitbucket.org' || host === 'www.bitbucket.org') return 'bitbucket';
  return undefined;
}

/**
 * The user name a host takes beside a token in basic auth: GitHub's for tokens
 * (`x-access-token`), GitLab's for OAuth and access tokens (`oauth2`), Bitbucket Cloud's for
 * repository, project and workspace access tokens (`x-token-auth`); others take any name.
 */
export function tokenUsername(style: HostStyle): string {
  switch (style) {
    case 'gitlab':
      return 'oauth2';
    case 'bitbucket':
      return 'x-token-auth';
    default:
      return 'x-access-token';
  }
}

/** GitHub pages of a repository that are not its files (issues and the like are other kinds). */
const GITHUB_NOT_FILES = new Set([
  'issues',
  'discussions',
  'pulls',
  'pull',
  'wiki',
  'actions',
  'releases',
  'projects',
  'security',
  'settings',
]);

function decode(segments: readonly string[]): string[] {
  return segments.map((segment) => decodeURIComponent(segment));
}

/** The repository a URL names, or undefined when it is not a repository URL we read. */
export function parseRepoUrl(url: URL): RepoLocation | undefined {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username || url.password) return undefined;
  const segments = url.pathname.split('/').filter(Boolean);
  const origin = url.origin;
  const known = styleOfHost(url.hostname);

  const treeAt = (marker: readonly string[]): number => {
    for (let i = 2; i + marker.length <= segments.length; i++) {
      if (marker.every((word, j) => segments[i + j] === word)) return i;
    }
    return -1;
  };
  const make = (repoSegments: readonly string[], style: HostStyle, rest: readonly string[]) => {
    const web = `${origin}/${repoSegments.join('/').replace(/\.git$/, '')}`;
    return { cloneUrl: `${web}.git`, webUrl: web, style, refAndPath: decode(rest) };
  };

  // GitLab: /group/sub/repo/-/tree/<ref>/<path>, or a file's /-/blob/<ref>/<path>
  const gitlab = Math.max(treeAt(['-', 'tree']), treeAt(['-', 'blob']));
  if (gitlab >= 2) return make(segments.slice(0, gitlab), 'gitlab', segments.slice(gitlab + 2));
  // Bitbucket Cloud: /workspace/repo/src/<ref>/<path>
  if (known === 'bitbucket' && segments[2] === 'src' && segments.length >= 4) {
    return make(segments.slice(0, 2), 'bitbucket', segments.slice(3));
  }
  // Gitea, Forgejo: /org/repo/src/branch/<ref>/<path>
  if (segments[2] === 'src' && (segments[3] === 'branch' || segments[3] === 'tag') && segments.length >= 5) {
    return make(segments.slice(0, 2), 'gitea', segments.slice(4));
  }
  // GitHub (and hosts with its layout): /org/repo/tree/<ref>/<path>, or a file's blob/<ref>/<path>
  if ((segments[2] === 'tree' || segments[2] === 'blob') && segments.length >= 4) {
    return make(segments.slice(0, 2), known ?? 'github', segments.slice(3));
  }
  // Any smart-HTTP host: a URL ending in .git.
  if (segments.length >= 1 && segments.at(-1)!.endsWith('.git')) {
    return make(segments, known ?? 'plain', []);
  }
  // A known host's repository page: /org/repo (GitLab: /group/sub/repo).
  if (known === 'github' || known === 'gitea' || known === 'bitbucket') {
    if (segments.length === 2) return make(segments, known, []);
    return undefined;
  }
  if (known === 'gitlab' && segments.length >= 2 && !segments.includes('-')) {
    return make(segments, known, []);
  }
  return undefined;
}

/** True for a GitHub URL naming a repository's issues or discussions (another kind's). */
export function isGitHubNonFilePage(url: URL): boolean {
  const segments = url.pathname.split('/').filter(Boolean);
  return segments.length >= 3 && GITHUB_NOT_FILES.has(segments[2]!);
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/**
 * Whether the host's file view takes a heading's anchor as our chunker writes it (GitHub's,
 * GitLab's and Gitea's slugs); Bitbucket prefixes its own (`#markdown-header-…`), an unknown
 * host may have none.
 */
export function headingAnchors(style: HostStyle): boolean {
  return style === 'github' || style === 'gitlab' || style === 'gitea';
}

/**
 * The file's page at `commit` on the host's web view; for a host whose layout is unknown, the
 * repository's page (what a person can open).
 */
export function fileUrl(location: RepoLocation, commit: string, path: string): string {
  switch (location.style) {
    case 'github':
      return `${location.webUrl}/blob/${commit}/${encodePath(path)}`;
    case 'gitlab':
      return `${location.webUrl}/-/blob/${commit}/${encodePath(path)}`;
    case 'gitea':
      return `${location.webUrl}/src/commit/${commit}/${encodePath(path)}`;
    case 'bitbucket':
      return `${location.webUrl}/src/${commit}/${encodePath(path)}`;
    case 'plain':
      return location.webUrl;
  }
}
