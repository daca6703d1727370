/**
 * Runs a command on a real pseudo-terminal (util-linux's `script`), as a person at a terminal
 * runs it: stdout and stderr are TTYs of the given width. What the terminal showed comes back
 * with its line endings normalised.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export const SCRIPT = '/usr/bin/script';
export const haveTerminal = existsSync(SCRIPT);

export interface TerminalRun {
  readonly code: number | null;
  readonly output: string;
}

const quote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;

export function runOnTerminal(
  command: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; columns?: number; timeoutMs?: number },
): Promise<TerminalRun> {
  const size = options.columns ? `stty cols ${options.columns} rows 50; ` : '';
  const shell = `${size}exec ${command.map(quote).join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT, ['-qec', shell, '/dev/null'], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.replaceAll('\r\n', '\n') });
    });
  });
}
