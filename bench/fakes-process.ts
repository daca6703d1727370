/** Starts bench/fakes-server.ts as a child process and returns the fakes' addresses. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface RemoteFakes {
  readonly groqURL: string;
  readonly groqKey: string;
  readonly upstashURL: string;
  readonly upstashToken: string;
  stop(): Promise<void>;
}

export async function startRemoteFakes(latency: {
  groqFirstTokenMs: number;
  upstashMs: number;
}): Promise<RemoteFakes> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fakes-server.ts')], {
    env: {
      ...process.env,
      BENCH_GROQ_FIRST_TOKEN_MS: String(latency.groqFirstTokenMs),
      BENCH_UPSTASH_LATENCY_MS: String(latency.upstashMs),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  const addresses = JSON.parse(line) as Omit<RemoteFakes, 'stop'>;
  return {
    ...addresses,
    stop: async () => {
      child.stdin.end();
      await once(child, 'exit');
    },
  };
}
