/**
 * The resident memory of another process, read from outside it, so a parser process stuck in
 * a synchronous loop (inflating a stream, building a string) is measured all the same: the
 * `VmRSS` line of Linux's `/proc/<pid>/status`, else `ps`.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** Bytes resident for `pid`, or undefined when it cannot be read (the process has ended). */
export async function residentBytes(pid: number): Promise<number | undefined> {
  if (process.platform === 'linux') {
    try {
      const status = await readFile(`/proc/${pid}/status`, 'latin1');
      const at = status.indexOf('VmRSS:');
      if (at === -1) return undefined;
      const kilobytes = Number.parseInt(status.slice(at + 6, status.indexOf('\n', at)).trim(), 10);
      return Number.isFinite(kilobytes) ? kilobytes * 1024 : undefined;
    } catch {
      return undefined;
    }
  }
  return new Promise((resolve) => {
    execFile('ps', ['-o', 'rss=', '-p', String(pid)], { timeout: 2_000 }, (error, stdout) => {
      const kilobytes = Number(stdout.trim());
      resolve(error || !Number.isFinite(kilobytes) || kilobytes <= 0 ? undefined : kilobytes * 1024);
    });
  });
}
