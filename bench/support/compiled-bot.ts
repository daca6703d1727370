/**
 * A Node process the benchmarks measure whole — the compiled bot as production runs it
 * (`node dist/src/main.js`), or a baseline beside it — started with a clean environment and
 * waited for until its HTTP endpoint answers.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
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

/** `node`'s arguments in `npm start` (`exec node <flags> dist/src/main.js`), read so the two never differ. */
export function startArguments(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.trim().split(/\s+/);
  return words.slice(words.indexOf('node') + 1);
}

/** The compiled bot, started as `npm start` starts it. */
export function startCompiledBot(env: Record<string, string>): Promise<MeasuredProcess> {
  return startProcess(startArguments(), env);
}

/** Lets start-up garbage settle before idle memory is read. */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 2_000));
