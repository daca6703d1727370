/**
 * The Git reader process (see git-process.ts): fetches a repository into its bare object store
 * with isomorphic-git, lists the files of a branch and reads their blobs, one request at a
 * time from its parent. Whatever a hostile pack inflates to is this process's memory, under
 * its heap limit and its parent's watch, never the bot's. It holds no secret (its environment
 * is empty; the token is added by the parent to the requests it forwards) and exits with its
 * parent.
 */
import * as fs from 'node:fs';
import { rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import * as git from 'isomorphic-git';
import { withoutTrailingSlashes } from '../../text/trailing-slashes.js';
import type { CarriedError, FromReader, Listing, ReadJob, ToReader } from './git-messages.js';

/** A tree entry's mode for a symbolic link (git's 120000). */
const SYMLINK_MODE = 0o120000;
/** Entries a listing walks at least before it stops (see list). */
const MIN_WALKED_ENTRIES = 20_000;

const send = (message: FromReader) => process.send?.(message);

/** A response's body as it arrives from the parent. */
class Body {
  private readonly queue: Uint8Array[] = [];
  private done = false;
  private error: CarriedError | undefined;
  private wake: (() => void) | undefined;

  push(chunk: Uint8Array): void {
    this.queue.push(chunk);
    this.notify();
  }
  end(error?: CarriedError): void {
    this.done = true;
    this.error = error;
    this.notify();
  }
  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
  async *chunks(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk) {
        yield chunk;
        continue;
      }
      if (this.error) throw carried(this.error);
      if (this.done) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}

interface Pending {
  readonly head: (head: Extract<ToReader, { type: 'http-head' }>) => void;
  readonly fail: (error: CarriedError) => void;
  readonly body: Body;
}

const pending = new Map<number, Pending>();
let nextId = 1;

/** An Error with the fields isomorphic-git's errors carry, so the parent can explain it. */
function carried(error: CarriedError): Error {
  return Object.assign(new Error(error.message), error);
}

function carry(error: unknown): CarriedError {
  const { code, data, source, message } = error as {
    code?: string;
    data?: { statusCode?: number; what?: string };
    source?: boolean;
    message?: string;
  };
  return {
    message: String(message ?? error).slice(0, 500),
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof data?.statusCode === 'number' ? { statusCode: data.statusCode } : {}),
    ...(typeof data?.what === 'string' ? { what: data.what } : {}),
    ...(source ? { source } : {}),
  };
}

const http: HttpClient = {
  async request(request: GitHttpRequest): Promise<GitHttpResponse> {
    let body: Uint8Array | undefined;
    if (request.body) {
      const parts: Uint8Array[] = [];
      for await (const part of request.body) parts.push(part);
      body = Buffer.concat(parts);
    }
    const id = nextId++;
    const stream = new Body();
    const head = await new Promise<Extract<ToReader, { type: 'http-head' }>>((resolve, reject) => {
      pending.set(id, { head: resolve, fail: (error) => reject(carried(error)), body: stream });
      send({
        type: 'http',
        id,
        url: request.url,
        method: request.method ?? 'GET',
        headers: request.headers ?? {},
        ...(body ? { body } : {}),
      });
    });
    return {
      url: head.url,
      method: request.method ?? 'GET',
      statusCode: head.status,
      statusMessage: head.statusText,
      headers: head.headers,
      body: stream.chunks(),
    };
  },
};

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

async function list(job: ReadJob): Promise<Listing> {
  const { gitdir } = job;
  let state: { ref?: string; path: string };
  if (job.ref !== undefined) state = { ref: job.ref, path: job.path ?? '' };
  else if (job.refAndPath.length > 0) {
    const refs = await git.listServerRefs({ http, url: job.cloneUrl, prefix: 'refs/' });
    state = splitRefAndPath(
      job.refAndPath,
      refs.map((ref) => ref.ref),
    );
  } else state = { path: '' };

  // A cache that was lost (another host, a cleaned volume) or grew too many packs is fetched
  // afresh; the files are still compared by blob id, so nothing unchanged is re-read.
  if (countPacks(gitdir) > job.maxPacks) await rm(gitdir, { recursive: true, force: true });
  const fresh = !fs.existsSync(join(gitdir, 'config'));
  if (fresh) {
    await rm(gitdir, { recursive: true, force: true });
    await git.init({ fs, gitdir, bare: true });
    await git.addRemote({ fs, gitdir, remote: 'origin', url: job.cloneUrl });
  }
  const fetched = await git.fetch({
    fs,
    http,
    gitdir,
    url: job.cloneUrl,
    ...(state.ref ? { ref: state.ref } : {}),
    singleBranch: true,
    tags: false,
    // The first fetch takes the tip alone; later ones send what we have and get what is new.
    ...(fresh ? { depth: 1 } : {}),
  });
  if (!fetched.fetchHead) {
    throw Object.assign(new Error(`${job.webUrl} has no commits to read`), { source: true });
  }
  const head = fetched.fetchHead;
  const ref = state.ref ?? fetched.defaultBranch?.replace(/^refs\/heads\//, '') ?? 'main';
  // The local branch is what the next fetch tells the server we have.
  await git.writeRef({ fs, gitdir, ref: `refs/heads/${ref}`, value: head, force: true });

  // The path is a folder, or one file (a `blob` link).
  const exact = withoutTrailingSlashes(state.path);
  const prefix = exact ? `${exact}/` : '';
  const files: { path: string; oid: string }[] = [];
  let truncated = false;
  // A tree may name another twice, and that one the next twice: a tiny pack of a few dozen
  // trees walks to millions of paths. The walk stops descending once it has its files, and
  // after a bounded number of entries whatever it has found.
  const maxEntries = Math.max(MIN_WALKED_ENTRIES, job.maxFiles * 2);
  let walked = 0;
  const walkCache = {};
  await git.walk({
    fs,
    gitdir,
    // Parsed packs shared by the walk's reads, and children walked one by one (the default
    // walks every child at once: a wide level reads all its trees before the bound is seen).
    cache: walkCache,
    iterate: async (walk, children) => {
      const walkedChildren = [];
      for (const child of children) {
        if (walked > maxEntries) break;
        walkedChildren.push(await walk(child));
      }
      return walkedChildren;
    },
    trees: [git.TREE({ ref: head })],
    map: async (path, [entry]) => {
      if (path === '.') return true;
      walked += 1;
      if (walked > maxEntries) {
        truncated = true;
        return null;
      }
      const inside = path.startsWith(prefix) || prefix.startsWith(`${path}/`);
      if (!entry || !inside) return null;
      const type = await entry.type();
      if (type === 'tree') return truncated ? null : true;
      if (type !== 'blob' || !(path.startsWith(prefix) || path === exact)) return null;
      if (!job.extensions.includes(extname(path).toLowerCase())) return null;
      // A symbolic link's blob is its target's path (`/etc/passwd`, `../README.md`), not a
      // document: a checkout would follow it, a reader of blobs would index the path. Skipped,
      // as a submodule (a `commit` entry) is; the file it names is read where it lies.
      if ((await entry.mode()) === SYMLINK_MODE) return null;
      if (files.length < job.maxFiles) files.push({ path, oid: await entry.oid() });
      else truncated = true;
      return null;
    },
  });
  return { head, ref, path: state.path, files, truncated };
}

async function handle(message: ToReader): Promise<void> {
  switch (message.type) {
    case 'http-head':
      pending.get(message.id)?.head(message);
      return;
    case 'http-chunk':
      pending.get(message.id)?.body.push(message.chunk);
      return;
    case 'http-end':
      pending.get(message.id)?.body.end();
      pending.delete(message.id);
      return;
    case 'http-error': {
      const request = pending.get(message.id);
      pending.delete(message.id);
      request?.fail(message.error);
      request?.body.end(message.error);
      return;
    }
    case 'list':
      try {
        send({ type: 'listed', listing: await list(message.job) });
      } catch (error) {
        send({ type: 'failed', error: carry(error) });
      }
      return;
    case 'read':
      try {
        const { blob } = await git.readBlob({ fs, gitdir: message.gitdir, oid: message.oid });
        // Past the limit only its size goes back: the parent lists the file as too large.
        send({
          type: 'blob',
          size: blob.byteLength,
          ...(blob.byteLength <= message.maxBytes ? { data: blob } : {}),
        });
      } catch (error) {
        send({ type: 'failed', error: carry(error) });
      }
      return;
  }
}

process.on('message', (message: ToReader) => {
  void handle(message);
});
process.on('disconnect', () => process.exit(0));
