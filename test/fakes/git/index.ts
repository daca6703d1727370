/**
 * A real Git smart-HTTP server for tests: `git http-backend` (git's own CGI program) behind a
 * loopback Node HTTP server, serving bare repositories the test creates and commits to. It
 * speaks the real protocol (protocol v2 when the client asks for it), optionally requires a
 * token (HTTP basic auth, as GitHub, GitLab and Gitea take one; with the user name a host
 * insists on beside it, as GitLab does for OAuth tokens, `oauth2`, and Bitbucket Cloud for
 * access tokens, `x-token-auth`), accepts both
 * `/org/repo.git/…` and `/org/repo/…` as GitHub does, and records each request with the bytes
 * it served, so a test can tell a fetch of what changed from a whole clone. A renamed
 * repository answers every request under its old name with a 301 to the same request under
 * the new one, as GitHub does; `startRedirectingFront` puts another origin in front of it
 * (an `http://` address sending clients to where the repository is served).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GitRequest {
  readonly method: string;
  readonly path: string;
  readonly service: string;
  readonly status: number;
  readonly bytes: number;
  readonly authorized: boolean;
  /** The Authorization header as received (to check where credentials went). */
  readonly authorization?: string;
}

export interface FakeGitHost {
  readonly url: string;
  readonly requests: GitRequest[];
  /** Creates an empty bare repository `org/name`. */
  createRepo(name: string): Promise<void>;
  /** Writes `files` (path → content; null deletes) and commits them; returns the commit id. */
  commit(name: string, files: Record<string, string | null>, message?: string): Promise<string>;
  /** Creates branch `branch` at main's tip. */
  branch(name: string, branch: string): Promise<void>;
  /** The bare repository's folder, for tests that write objects with git's plumbing. */
  repoPath(name: string): string;
  /**
   * Requires this token (as the password of basic auth) for `name`, beside `username` when
   * given (any name otherwise); undefined makes it public.
   */
  requireToken(name: string, token: string | undefined, username?: string): void;
  /** Answers requests for `from` with a 301 to the same request for `to` (a renamed repository). */
  rename(from: string, to: string): void;
  clearRequests(): void;
  close(): Promise<void>;
}

export interface RedirectingFront {
  readonly url: string;
  /** Each request the front answered: its method, path and whether it carried credentials. */
  readonly requests: { readonly method: string; readonly path: string; readonly authorization: boolean }[];
  close(): Promise<void>;
}

/**
 * Another origin that redirects every request (`status`: 301 by default, 307/308 to keep a
 * POST's method) to the same path and query at `target`.
 */
export async function startRedirectingFront(target: string, status = 301): Promise<RedirectingFront> {
  const requests: { method: string; path: string; authorization: boolean }[] = [];
  const server = createServer((req, res) => {
    requests.push({
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      authorization: req.headers.authorization !== undefined,
    });
    req.resume();
    res.writeHead(status, { location: `${target}${req.url ?? '/'}`, 'content-length': '0' });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_COMMITTER_NAME: 'Test Author',
  GIT_COMMITTER_EMAIL: 'author@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: tmpdir(),
};

export async function startFakeGitHost(): Promise<FakeGitHost> {
  const root = await mkdtemp(join(tmpdir(), 'fake-git-'));
  const requests: GitRequest[] = [];
  const tokens = new Map<string, { token: string; username?: string }>();
  const renamed = new Map<string, string>();
  const git = (args: string[], env: Record<string, string> = {}) =>
    run('git', args, { env: { ...process.env, ...GIT_ENV, ...env }, maxBuffer: 64 * 1024 * 1024 });

  const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fake');
    // /org/repo[.git]/<git path>: the repository is the first two segments.
    const [org, repoSegment, ...rest] = url.pathname.split('/').filter(Boolean);
    const repo = (repoSegment ?? '').replace(/\.git$/, '');
    const name = `${org}/${repo}`;
    const service = url.searchParams.get('service') ?? rest.join('/');
    const newName = renamed.get(name);
    if (newName !== undefined) {
      const tail = rest.length > 0 ? `/${rest.join('/')}` : '';
      const dotGit = repoSegment?.endsWith('.git') ? '.git' : '';
      requests.push({
        method: req.method ?? 'GET',
        path: url.pathname,
        service,
        status: 301,
        bytes: 0,
        authorized: true,
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      });
      res.writeHead(301, { location: `/${newName}${dotGit}${tail}${url.search}`, 'content-length': '0' });
      res.end();
      return;
    }
    const required = tokens.get(name);
    const header = req.headers.authorization ?? '';
    const [username = '', ...secret] = header.startsWith('Basic ')
      ? Buffer.from(header.slice(6), 'base64').toString('utf8').split(':')
      : [];
    const password = secret.join(':');
    const authorized =
      required === undefined ||
      (password === required.token && (required.username === undefined || username === required.username));
    const record = (status: number, bytes: number) =>
      requests.push({
        method: req.method ?? 'GET',
        path: url.pathname,
        service,
        status,
        bytes,
        authorized,
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      });
    if (!authorized) {
      record(401, 0);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="fake git"', 'content-type': 'text/plain' });
      res.end('Authentication required');
      return;
    }
    const child = spawn('git', ['http-backend'], {
      env: {
        ...process.env,
        ...GIT_ENV,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: `/${name}.git/${rest.join('/')}`,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        CONTENT_LENGTH: String(body.length),
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        REMOTE_ADDR: '127.0.0.1',
      },
    });
    const output: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.resume();
    // git may answer (an error) before reading all it was sent.
    child.stdin.on('error', () => undefined);
    child.stdin.end(body);
    await new Promise<void>((resolve) => child.on('close', () => resolve()));
    const all = Buffer.concat(output);
    const split = all.indexOf('\r\n\r\n') >= 0 ? all.indexOf('\r\n\r\n') : all.indexOf('\n\n');
    const gap = all[split] === 13 ? 4 : 2;
    const head = all.subarray(0, split).toString('latin1');
    const payload = all.subarray(split + gap);
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const key = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (key === 'status') status = Number.parseInt(value, 10);
      else headers[key] = value;
    }
    record(status, payload.length);
    res.writeHead(status, { ...headers, 'content-length': String(payload.length) });
    res.end(payload);
  };
  // Request bodies are binary pkt-lines: read as bytes, not text.
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      handle(req, res, Buffer.concat(parts)).catch(() => res.destroy());
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const bare = (name: string) => join(root, `${name}.git`);
  return {
    url,
    requests,
    repoPath: bare,
    async createRepo(name) {
      await mkdir(dirname(bare(name)), { recursive: true });
      await git(['init', '--bare', '--initial-branch=main', bare(name)]);
    },
    async commit(name, files, message = 'Update docs') {
      const work = await mkdtemp(join(tmpdir(), 'fake-git-work-'));
      try {
        const gitArgs = ['--git-dir', bare(name), '--work-tree', work];
        // Start from the current tree (if any), then apply the changes.
        await git([...gitArgs, 'checkout', '-f', 'main', '--', '.']).catch(() => undefined);
        for (const [path, content] of Object.entries(files)) {
          const full = join(work, path);
          if (content === null) await rm(full, { force: true });
          else {
            await mkdir(dirname(full), { recursive: true });
            await writeFile(full, content);
          }
        }
        await git([...gitArgs, 'add', '-A', '.']);
        await git([...gitArgs, 'commit', '-q', '--allow-empty', '-m', message]);
        const { stdout } = await git([...gitArgs, 'rev-parse', 'HEAD']);
        return stdout.trim();
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
    async branch(name, branch) {
      await git(['--git-dir', bare(name), 'branch', branch, 'main']);
    },
    requireToken(name, token, username) {
      if (token === undefined) tokens.delete(name);
      else tokens.set(name, { token, ...(username !== undefined ? { username } : {}) });
    },
    rename(from, to) {
      renamed.set(from, to);
    },
    clearRequests() {
      requests.length = 0;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(root, { recursive: true, force: true });
    },
  };
}
