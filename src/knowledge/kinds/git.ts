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
import { rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { MARKUP_FORMATS } from '../../ingest/files.js';
import type { SourceFormat } from '../../ingest/formats/source.js';
import { withoutTrailingSlashes } from '../../text/trailing-slashes.js';
import { gitToken, isLoopbackHost } from './environment.js';
import {
  fileUrl,
  headingAnchors,
  isGitHubNonFilePage,
  parseRepoUrl,
  type RepoLocation,
  tokenUsername,
} from './git-hosts.js';
import type { GitReader as GitReaderProcess } from './git-process.js';
import {
  type Environment,
  type ItemEvent,
  SourceError,
  type SourceKind,
  type SyncContext,
  type SyncEnd,
} from './kind.js';

export const GIT_EXTENSIONS = Object.keys(MARKUP_FORMATS);
/** Largest file read; larger ones are listed as failed. */
const MAX_FILE_BYTES = 5 * 1_048_576;
/** Largest pack one fetch may bring (isomorphic-git holds it in memory while indexing it). */
const MAX_FETCH_BYTES = 256 * 1_048_576;
/** Files read per sync at most; the rest wait for the next one. */
const MAX_FILES = 10_000;
/** Packs a cache may collect before it is fetched afresh (each incremental fetch adds one). */
const MAX_PACKS = 200;
/** Memory the Git reader process may use for one repository (GIT_MEMORY_MB). */
const DEFAULT_MEMORY_MB = 1024;

function memoryBudget(env: Environment): number {
  const mb = Number(env.GIT_MEMORY_MB);
  return Number.isInteger(mb) && mb > 0 ? mb : DEFAULT_MEMORY_MB;
}

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
  return MARKUP_FORMATS[extname(path).toLowerCase()] ?? 'markdown';
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

/**
 * A source's own clone: by repository and collection, as sources are, so two sources of one
 * repository (two tenants' collections) never share one, nor one's removal take the other's.
 */
function cacheFolder(cacheDir: string, url: string, collection: string): string {
  const key = createHash('sha256').update(`${collection}\n${url}`).digest('hex').slice(0, 24);
  return join(cacheDir, 'git', key);
}

export const gitKind: SourceKind = {
  name: 'git',
  label: 'Git repository',
  noun: 'file(s)',
  // A large repository's pack may take minutes to arrive: only a stall ends it early.
  longDownloads: true,

  recognise(url: URL) {
    if (isGitHubNonFilePage(url)) return undefined;
    const location = parseRepoUrl(url);
    if (!location) return undefined;
    const copy = new URL(url);
    copy.hash = '';
    copy.search = '';
    return withoutTrailingSlashes(copy.href);
  },

  async *sync(context: SyncContext): AsyncGenerator<ItemEvent, SyncEnd, void> {
    const location = parseRepoUrl(new URL(context.url));
    if (!location) throw new SourceError(`${context.url} is not a Git repository URL`);
    const { headers, variable } = authHeaders(location, context.env);
    const hasToken = headers.authorization !== undefined;
    const previous = isGitState(context.state) ? context.state : undefined;
    const gitdir = cacheFolder(context.cacheDir, context.url, context.collection);
    // isomorphic-git runs in a reader process: what a pack inflates to is its memory, not ours.
    // Loaded with the first Git sync: a bot without Git sources never holds this code.
    const { GitReader, rebuilt } = await import('./git-process.js');
    const reader: GitReaderProcess = new GitReader({
      fetch: context.fetch,
      cloneUrl: location.cloneUrl,
      headers,
      maxResponseBytes: MAX_FETCH_BYTES,
      memoryMB: memoryBudget(context.env),
      ...(context.signal ? { signal: context.signal } : {}),
    });
    try {
      const answer = await reader
        .ask({
          type: 'list',
          job: {
            gitdir,
            cloneUrl: location.cloneUrl,
            webUrl: location.webUrl,
            ...(previous ? { ref: previous.ref, path: previous.path } : {}),
            refAndPath: location.refAndPath,
            extensions: GIT_EXTENSIONS,
            maxFiles: MAX_FILES,
            maxPacks: MAX_PACKS,
          },
        })
        .catch((error: unknown) => {
          throw explain(error, location, variable, hasToken);
        });
      if (answer.type === 'failed') throw explain(rebuilt(answer.error), location, variable, hasToken);
      if (answer.type !== 'listed') throw new Error('the Git reader answered out of turn');
      const { head, files, truncated } = answer.listing;
      const state = { ref: answer.listing.ref, path: answer.listing.path };
      if (state.path && files.length === 0 && context.known.size === 0) {
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
          const read = await reader.ask({ type: 'read', gitdir, oid: file.oid, maxBytes: MAX_FILE_BYTES });
          if (read.type === 'failed') throw rebuilt(read.error);
          if (read.type !== 'blob') throw new Error('the Git reader answered out of turn');
          const blob = read.data;
          if (!blob || read.size > MAX_FILE_BYTES) {
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
          // The reader itself stopped (past its memory budget): the rest cannot be read either.
          if (reader.isEnded) throw error;
          yield { type: 'failed', key: file.path, reason: (error as Error).message };
        }
      }
      const end: GitState = { ref: state.ref, path: state.path, commit: head };
      // Past the bound, files not read this time are not gone: only a whole listing prunes.
      return { state: end, complete: !truncated };
    } finally {
      await reader.close();
    }
  },

  async forget(source, cacheDir) {
    await rm(cacheFolder(cacheDir, source.url, source.collection), { recursive: true, force: true });
  },
};
