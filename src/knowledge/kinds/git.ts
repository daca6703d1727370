/**
 * Git repositories as a source: the Markdown, MDX, reStructuredText and text files under a
 * path of one branch, each passage citing the file on the host's web view at the commit it
 * was read from. isomorphic-git (pure JavaScript, loaded only when a repository syncs; no
 * `git` binary) keeps a bare object store per source in the bot's data folder: the first sync
 * fetches the branch tip alone (depth 1), later ones fetch only the objects new since the
 * commit seen last, and only files whose blob changed are read again (an unchanged file keeps
 * its blob id, which is its version). Every request goes through the sync's fetch (address
 * guard, time limit); a token comes from GIT_HOST_TOKENS for the host, else GIT_TOKEN for the
 * hosts in GIT_TOKEN_HOSTS, and goes over https only (a loopback address excepted).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import type { SourceFormat } from '../../ingest/formats/source.js';
import { gitToken, isLoopbackHost } from './environment.js';
import {
  fileUrl,
  headingAnchors,
  isGitHubNonFilePage,
  parseRepoUrl,
  type RepoLocation,
  tokenUsername,
} from './git-hosts.js';
import {
  type Environment,
  type ItemEvent,
  SourceError,
  type SourceKind,
  type SyncContext,
  type SyncEnd,
} from './kind.js';

export const GIT_EXTENSIONS = ['.md', '.markdown', '.mdx', '.rst', '.txt', '.text'];
/** Largest file read; larger ones are listed as failed. */
const MAX_FILE_BYTES = 5 * 1_048_576;
/** Largest pack one fetch may bring (isomorphic-git holds it in memory while indexing it). */
const MAX_FETCH_BYTES = 256 * 1_048_576;
/** Files read per sync at most; the rest wait for the next one. */
const MAX_FILES = 10_000;
/** Packs a cache may collect before it is fetched afresh (each incremental fetch adds one). */
const MAX_PACKS = 200;

interface GitState {
  /** The branch (or tag) read, resolved on the first sync. */
  readonly ref: string;
  /** The folder within the repository, '' for all of it. */
  readonly path: string;
  /** The commit the items were last read from. */
  readonly commit: string;
}

function isGitState(value: unknown): value is GitState {
  const state = value as GitState | undefined;
  return typeof state?.ref === 'string' && typeof state.path === 'string' && typeof state.commit === 'string';
}

/** How a file is read, by its extension. */
function formatOf(path: string): SourceFormat {
  const extension = extname(path).toLowerCase();
  if (extension === '.rst') return 'rst';
  if (extension === '.mdx') return 'mdx';
  return extension === '.txt' || extension === '.text' ? 'text' : 'markdown';
}

/** An isomorphic-git HTTP client over the sync's fetch, reading at most `maxBytes` of a pack. */
function gitHttp(doFetch: typeof fetch, maxBytes: number): HttpClient {
  return {
    async request(request: GitHttpRequest): Promise<GitHttpResponse> {
      let payload: Uint8Array | undefined;
      if (request.body) {
        const parts: Uint8Array[] = [];
        for await (const part of request.body) parts.push(part);
        payload = Buffer.concat(parts);
      }
      const response = await doFetch(request.url, {
        method: request.method ?? 'GET',
        headers: request.headers ?? {},
        ...(payload ? { body: payload } : {}),
        ...(request.signal ? { signal: request.signal as AbortSignal } : {}),
      });
      const stream = response.body;
      async function* chunks(): AsyncGenerator<Uint8Array> {
        if (!stream) return;
        let size = 0;
        for await (const chunk of stream) {
          size += chunk.byteLength;
          if (size > maxBytes) {
            await stream.cancel().catch(() => undefined);
            throw new SourceError(
              `the repository sent more than ${Math.round(maxBytes / 1_048_576)} MB in one fetch; name a folder of it (…/tree/<branch>/<folder>)`,
            );
          }
          yield chunk;
        }
      }
      return {
        url: response.url || request.url,
        method: request.method ?? 'GET',
        statusCode: response.status,
        statusMessage: response.statusText,
        headers: Object.fromEntries(response.headers),
        body: chunks(),
      };
    },
  };
}

function authHeaders(
  location: RepoLocation,
  env: Environment,
): { headers: Record<string, string>; variable: string } {
  const url = new URL(location.cloneUrl);
  const { token, username, variable } = gitToken(url.hostname, env);
  if (!token) return { headers: {}, variable };
  if (url.protocol !== 'https:' && !isLoopbackHost(url.hostname)) {
    // Basic auth over plain http is the token in clear for anyone on the way.
    throw new SourceError(
      `${location.webUrl} is plain http: the token in ${variable} is sent over https only; add the repository's https:// URL`,
    );
  }
  // Basic auth with the token as password, beside the user name its host takes for tokens.
  const basic = Buffer.from(`${username ?? tokenUsername(location.style)}:${token}`).toString('base64');
  return { headers: { authorization: `Basic ${basic}` }, variable };
}

/** A failure of isomorphic-git in words a person can act on; tokens never appear. */
function explain(error: unknown, location: RepoLocation, variable: string, hasToken: boolean): Error {
  const code = (error as { code?: string }).code;
  const status = (error as { data?: { statusCode?: number } }).data?.statusCode;
  if (error instanceof SourceError) return error;
  if (code === 'HttpError' && (status === 401 || status === 403)) {
    return new SourceError(
      hasToken
        ? `${location.webUrl} refused the token in ${variable} (HTTP ${status}): it may be revoked or lack read access`
        : `${location.webUrl} needs a token (HTTP ${status}): set ${variable} to one with read access`,
    );
  }
  if (code === 'HttpError' && status === 404) {
    return new SourceError(
      `no repository at ${location.cloneUrl} (HTTP 404)${hasToken ? '' : `; if it is private, set ${variable}`}`,
    );
  }
  if (code === 'HttpError') return new SourceError(`${location.cloneUrl} answered HTTP ${status}`);
  if (code === 'NotFoundError') {
    return new SourceError(
      `not found in ${location.webUrl}: ${(error as { data?: { what?: string } }).data?.what}`,
    );
  }
  if (code === 'SmartHttpError' || code === 'EmptyServerResponseError') {
    return new SourceError(`${location.cloneUrl} is not a Git repository served over smart HTTP`);
  }
  return error instanceof Error ? error : new Error(String(error));
}

function cacheFolder(cacheDir: string, url: string): string {
  return join(cacheDir, 'git', createHash('sha256').update(url).digest('hex').slice(0, 24));
}

function countPacks(gitdir: string): number {
  try {
    return fs.readdirSync(join(gitdir, 'objects', 'pack')).filter((name) => name.endsWith('.pack')).length;
  } catch {
    return 0;
  }
}

/** Splits `tree/` segments into a ref the server has and the path after it (refs may contain `/`). */
function splitRefAndPath(
  segments: readonly string[],
  refs: readonly string[],
): { ref?: string; path: string } {
  if (segments.length === 0) return { path: '' };
  const names = new Set(refs.map((ref) => ref.replace(/^refs\/(heads|tags)\//, '')));
  for (let take = segments.length; take >= 1; take--) {
    const ref = segments.slice(0, take).join('/');
    if (names.has(ref)) return { ref, path: segments.slice(take).join('/') };
  }
  // Not a branch or tag name the server lists: taken as a branch, and the fetch will say.
  return { ref: segments[0]!, path: segments.slice(1).join('/') };
}

export const gitKind: SourceKind = {
  name: 'git',
  label: 'Git repository',
  noun: 'file(s)',

  recognise(url: URL) {
    if (isGitHubNonFilePage(url)) return undefined;
    const location = parseRepoUrl(url);
    if (!location) return undefined;
    const copy = new URL(url);
    copy.hash = '';
    copy.search = '';
    return copy.href.replace(/(?<!\/)\/+$/, '');
  },

  async *sync(context: SyncContext): AsyncGenerator<ItemEvent, SyncEnd, void> {
    const location = parseRepoUrl(new URL(context.url));
    if (!location) throw new SourceError(`${context.url} is not a Git repository URL`);
    const git = await import('isomorphic-git');
    const http = gitHttp(context.fetch, MAX_FETCH_BYTES);
    const { headers, variable } = authHeaders(location, context.env);
    const hasToken = headers.authorization !== undefined;
    const previous = isGitState(context.state) ? context.state : undefined;
    const gitdir = cacheFolder(context.cacheDir, context.url);

    let state: { ref?: string; path: string };
    let head: string;
    try {
      if (previous) state = { ref: previous.ref, path: previous.path };
      else if (location.refAndPath.length > 0) {
        // isomorphic-git adds its protocol header to the object it is given: each call gets a copy.
        const refs = await git.listServerRefs({
          http,
          url: location.cloneUrl,
          headers: { ...headers },
          prefix: 'refs/',
        });
        state = splitRefAndPath(
          location.refAndPath,
          refs.map((ref) => ref.ref),
        );
      } else state = { path: '' };

      // A cache that was lost (another host, a cleaned volume) or grew too many packs is
      // fetched afresh; the files are still compared by blob id, so nothing unchanged is re-read.
      if (countPacks(gitdir) > MAX_PACKS) await rm(gitdir, { recursive: true, force: true });
      const fresh = !fs.existsSync(join(gitdir, 'config'));
      if (fresh) {
        await rm(gitdir, { recursive: true, force: true });
        await git.init({ fs, gitdir, bare: true });
        await git.addRemote({ fs, gitdir, remote: 'origin', url: location.cloneUrl });
      }
      const fetched = await git.fetch({
        fs,
        http,
        gitdir,
        url: location.cloneUrl,
        ...(state.ref ? { ref: state.ref } : {}),
        singleBranch: true,
        tags: false,
        headers: { ...headers },
        // The first fetch takes the tip alone; later ones send what we have and get what is new.
        ...(fresh ? { depth: 1 } : {}),
      });
      if (!fetched.fetchHead) throw new SourceError(`${location.webUrl} has no commits to read`);
      head = fetched.fetchHead;
      const ref = state.ref ?? fetched.defaultBranch?.replace(/^refs\/heads\//, '') ?? 'main';
      state = { ref, path: state.path };
      // The local branch is what the next fetch tells the server we have.
      await git.writeRef({ fs, gitdir, ref: `refs/heads/${ref}`, value: head, force: true });
    } catch (error) {
      throw explain(error, location, variable, hasToken);
    }

    // The path is a folder, or one file (a `blob` link).
    const exact = state.path.replace(/(?<!\/)\/+$/, '');
    const prefix = exact ? `${exact}/` : '';
    const files: { path: string; oid: string }[] = [];
    let truncated = false;
    await git.walk({
      fs,
      gitdir,
      trees: [git.TREE({ ref: head })],
      map: async (path, [entry]) => {
        if (path === '.') return true;
        const inside = path.startsWith(prefix) || prefix.startsWith(`${path}/`);
        if (!entry || !inside) return null;
        const type = await entry.type();
        if (type === 'tree') return true;
        if (type !== 'blob' || !(path.startsWith(prefix) || path === exact)) return null;
        if (!GIT_EXTENSIONS.includes(extname(path).toLowerCase())) return null;
        if (files.length < MAX_FILES) files.push({ path, oid: await entry.oid() });
        else truncated = true;
        return null;
      },
    });
    if (prefix && files.length === 0 && context.known.size === 0) {
      throw new SourceError(
        `no Markdown, reStructuredText or text files under ${state.path} in ${state.ref}`,
      );
    }
    context.expect(files.length);
    for (const file of files) {
      if (context.known.get(file.path)?.version === file.oid) {
        yield { type: 'unchanged', key: file.path };
        continue;
      }
      try {
        const { blob } = await git.readBlob({ fs, gitdir, oid: file.oid });
        if (blob.byteLength > MAX_FILE_BYTES) {
          yield {
            type: 'failed',
            key: file.path,
            reason: `larger than ${MAX_FILE_BYTES / 1_048_576} MB`,
          };
          continue;
        }
        const url = fileUrl(location, head, file.path);
        const anchors = headingAnchors(location.style);
        // Front matter and headings are read in the parse pool, with its budgets.
        const parsed = await context.parse({ format: formatOf(file.path), data: blob, url, anchors });
        yield {
          type: 'document',
          key: file.path,
          url,
          title: parsed.title ?? file.path,
          markdown: parsed.markdown,
          chunks: parsed.chunks,
          version: file.oid,
          anchors,
        };
      } catch (error) {
        yield { type: 'failed', key: file.path, reason: (error as Error).message };
      }
    }
    const end: GitState = { ref: state.ref!, path: state.path, commit: head };
    // Past the bound, files not read this time are not gone: only a whole listing prunes.
    return { state: end, complete: !truncated };
  },

  async forget(url: string, cacheDir: string) {
    await rm(cacheFolder(cacheDir, url), { recursive: true, force: true });
  },
};
