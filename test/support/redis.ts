/**
 * A real redis-server of its own for a test file, on a free loopback port, with nothing
 * persisted. Where redis-server is not installed the Redis tests skip, saying so, except in
 * CI, where that is a failure (.ci/run installs it).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { connectRedis } from '../../src/ops/redis-state.js';
import { freePort } from './net.js';
import { requireServices } from './services.js';

function findRedisServer(): string | undefined {
  return spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim() || undefined;
}

const binary = findRedisServer();
if (!binary) {
  if (requireServices()) throw new Error('redis-server is not installed and CI must run the Redis tests');
  console.warn('redis-server is not installed: the Redis tests are skipped (.ci/run installs it).');
}

export const haveRedis = binary !== undefined;

export interface RedisServer {
  readonly url: string;
  readonly process: ChildProcess;
  /** Stops the server and waits until it has exited. */
  stop(): Promise<void>;
}

/** Starts a server and waits until it answers. */
export async function startRedis(): Promise<RedisServer> {
  if (!binary) throw new Error('redis-server is not installed');
  const port = await freePort();
  const server = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const exited = once(server, 'exit');
  const probe = await connectRedis(url, undefined, 10_000);
  const ready = probe.status === 'ready';
  probe.disconnect();
  if (!ready) {
    server.kill();
    throw new Error(`redis-server on port ${port} did not answer`);
  }
  return {
    url,
    process: server,
    async stop() {
      if (server.exitCode === null && server.signalCode === null) {
        server.kill();
        await exited;
      }
    },
  };
}
