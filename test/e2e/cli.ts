/** Runs the project's CLIs as a user would: a child process, a clean environment, real stdio. */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The parent's environment minus anything that would reach real services or a developer's .env. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(GROQ|UPSTASH|SLACK|DISCORD|RAG|REDIS|LOG|GIT|GITHUB|NOTION|CONFLUENCE|DATABASE)_/.test(key))
      continue;
    env[key] = value;
  }
  return { ...env, RAG_DOTENV: 'off', NO_COLOR: '1', ...extra };
}

export function runCli(
  script: string,
  args: readonly string[],
  options: {
    env?: Record<string, string>;
    input?: string;
    timeoutMs?: number;
    /** Run as this user and group (`setpriv`; the suite must run as root), e.g. 'nobody'. */
    asUser?: { readonly user: string; readonly group: string };
  } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const command = [process.execPath, '--import', 'tsx', join(ROOT, script), ...args];
    const as = options.asUser;
    const [file, ...rest] = as
      ? ['setpriv', `--reuid=${as.user}`, `--regid=${as.group}`, '--clear-groups', ...command]
      : command;
    const child = spawn(file!, rest, {
      cwd: ROOT,
      env: cleanEnv(options.env ?? {}),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

export async function tempDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'rag-e2e-'));
}
