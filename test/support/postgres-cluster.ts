/**
 * A throwaway PostgreSQL cluster for the test suite: initdb into a temporary folder, a server on
 * a free loopback port (no Unix socket), a random password, and durability switched off (the
 * data dies with the run). PostgreSQL refuses to run as root, so as root the server runs as the
 * `postgres` system user that Debian's package creates.
 *
 * `.ci/run` starts one for both Node lines (`tsx test/support/postgres-cluster.ts start` prints
 * the variables to export; `stop <dir>` ends it); a local `npm test` without TEST_DATABASE_URL
 * gets one from the suite's global setup.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './net.js';

export interface Cluster {
  /** A superuser URL on the cluster's `postgres` database. */
  readonly url: string;
  /** The cluster's folder (data directory inside); `stopCluster(dir)` ends it. */
  readonly dir: string;
}

/** The newest installed server's programs (Debian keeps them out of PATH). */
export function postgresBinaries(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((name) => existsSync(join(root, name, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  const found = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  return found ? join(found, '..') : undefined;
}

const isRoot = () => process.getuid?.() === 0;

/** Runs a server program as a user PostgreSQL accepts. */
function run(bin: string, program: string, args: readonly string[]): string {
  const [command, argv] = isRoot()
    ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]]
    : [join(bin, program), [...args]];
  return execFileSync(command, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface ClusterOptions {
  /**
   * Keep PostgreSQL's durability (fsync, full page writes, synchronous commit), as a production
   * server has it: for benchmarks. Tests run without it.
   */
  readonly durable?: boolean;
  /** More server settings (`name=value`), e.g. a larger shared_buffers for a benchmark. */
  readonly settings?: readonly string[];
}

/** Starts a cluster; throws with the server's own words when it cannot. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const bin = postgresBinaries();
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  const dir = mkdtempSync(join(tmpdir(), 'rag-test-pg-'));
  const data = join(dir, 'data');
  const password = randomBytes(18).toString('base64url');
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (isRoot()) {
    const ids = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
    const gid = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
    chownSync(dir, Number(ids), Number(gid));
    chownSync(passwordFile, Number(ids), Number(gid));
  }
  try {
    run(bin, 'initdb', [
      '-D',
      data,
      '-U',
      'rag',
      `--pwfile=${passwordFile}`,
      '--auth=scram-sha-256',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
      '--no-sync',
    ]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(error as { stderr?: string }).stderr ?? (error as Error).message}`);
  }
  rmSync(passwordFile);
  // A port free a moment ago may be taken by the time the server binds it: try another.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const settings = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      "-c unix_socket_directories=''",
      '-c max_connections=400',
      ...(options.durable
        ? []
        : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off', '-c shared_buffers=64MB']),
      ...(options.settings ?? []).map((setting) => `-c ${setting}`),
    ].join(' ');
    writeFileSync(join(dir, 'server-options'), settings);
    try {
      startServer(dir);
      return { url: `postgres://rag:${password}@127.0.0.1:${port}/postgres`, dir };
    } catch (error) {
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw new Error(
          `PostgreSQL did not start: ${(error as { stderr?: string }).stderr ?? (error as Error).message}`,
        );
      }
    }
  }
}

/** Starts the server of the cluster in `dir` (again), on the port and settings it was created with. */
export function startServer(dir: string): void {
  const bin = postgresBinaries();
  if (!bin) throw new Error('PostgreSQL is not installed');
  const settings = readFileSync(join(dir, 'server-options'), 'utf8');
  run(bin, 'pg_ctl', [
    '-D',
    join(dir, 'data'),
    '-l',
    join(dir, 'server.log'),
    '-w',
    '-t',
    '60',
    '-o',
    settings,
    'start',
  ]);
}

/** Stops the server at once, as a crash or a failover would, keeping its files. */
export function stopServer(dir: string): void {
  const bin = postgresBinaries();
  if (bin) run(bin, 'pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
}

/** Stops the cluster in `dir` at once and removes its files. */
export function stopCluster(dir: string): void {
  const bin = postgresBinaries();
  try {
    if (bin) run(bin, 'pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  } catch {
    // Already stopped.
  }
  rmSync(dir, { recursive: true, force: true });
}

// As a program: `start` prints shell assignments for TEST_DATABASE_URL and TEST_POSTGRES_DIR.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, dir] = process.argv.slice(2);
  if (command === 'start') {
    const cluster = await startCluster();
    process.stdout.write(`TEST_DATABASE_URL='${cluster.url}'\nTEST_POSTGRES_DIR='${cluster.dir}'\n`);
  } else if (command === 'stop' && dir) {
    stopCluster(dir);
  } else {
    process.stderr.write('usage: postgres-cluster.ts start | stop <dir>\n');
    process.exit(2);
  }
}
