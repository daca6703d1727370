/**
 * A Node process the benchmarks measure whole — the compiled bot as production runs it
 * (`node dist/src/main.js`), or a baseline beside it — started with a clean environment and
 * waited for until its HTTP endpoint answers.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort } from '../../test/support/net.js';

export const ROOT = join(import.meta.dirname, '../..');

/** Compiles the bot into dist/, as `npm run build` does. */
export function buildBot(): void {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'ignore' });
}

export interface MeasuredProcess {
  readonly base: string;
  readonly pid: number;
  /** From spawn to the first successful answer of the ready path. */
  readonly startupMs: number;
  stop(): Promise<void>;
}

/**
 * Spawns `node …args` with `env` (plus PATH, HOME and a free PORT; never a developer's .env)
 * and resolves once `readyPath` answers 200. Rejects if it exits first or never answers.
 */
export async function startProcess(
  args: readonly string[],
  env: Record<string, string>,
  readyPath = '/readyz',
): Promise<MeasuredProcess> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, RAG_DOTENV: 'off', ...env, PORT: String(port) },
    stdio: process.env.BENCH_BOT_OUTPUT ? 'inherit' : 'ignore',
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  };
  for (let i = 0; i < 6_000; i++) {
    if (child.exitCode !== null)
      throw new Error(`${args.join(' ')} exited (${child.exitCode}) before it was ready`);
    if ((await fetch(`${base}${readyPath}`).catch(() => undefined))?.ok) {
      return { base, pid: child.pid!, startupMs: performance.now() - started, stop };
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await stop();
  throw new Error(`${args.join(' ')} never answered ${readyPath}`);
}

/** The compiled bot, with the flags `npm start` uses. */
export function startCompiledBot(env: Record<string, string>): Promise<MeasuredProcess> {
  return startProcess(['--max-semi-space-size=1', '--enable-source-maps', 'dist/src/main.js'], env);
}

/** Lets start-up garbage settle before idle memory is read. */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 2_000));
