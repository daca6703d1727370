/**
 * The real process started over damaged files of its own (issue 17 item 17): each stops with
 * one message that names the file, what it holds and what to do, never a bare SQLite error or
 * a stack trace, and leaves the file as it was for the operator to restore or move aside.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/net.js';
import { runCli, tempDataDir } from './cli.js';

const GARBAGE = 'This file was overwritten by a careless backup script.\n'.repeat(40);

async function startOver(file: string): Promise<{ dir: string; result: Awaited<ReturnType<typeof runCli>> }> {
  const dir = await tempDataDir();
  await writeFile(join(dir, file), GARBAGE);
  const result = await runCli('src/main.ts', [], {
    env: {
      WEB_CHAT: 'true',
      PORT: String(await freePort()),
      RAG_DATA_DIR: dir,
      RAG_KNOWLEDGE_DIR: join(dir, 'none'),
    },
  });
  return { dir, result };
}

describe('npm start over a damaged file of its own', () => {
  it('app.db: names it, says what it holds and how to recover, and leaves it as it was', async () => {
    const { dir, result } = await startOver('app.db');
    const file = join(dir, 'app.db');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`The bot's database at ${file} is damaged`);
    expect(result.stderr).toContain('Restore it from a backup');
    expect(result.stderr).toContain(`mv ${file} ${file}.damaged`);
    expect(result.stderr).not.toContain('Start-up failed');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await readFile(file, 'utf8')).toBe(GARBAGE);
  });

  it('the local store: names it and how to rebuild it', async () => {
    const { dir, result } = await startOver('store.sqlite');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`The local store at ${join(dir, 'store.sqlite')} is damaged`);
    expect(result.stderr).toContain('run the command again to rebuild it');
  });

  it('the pseudonym key: names it and what deleting it costs', async () => {
    const { dir, result } = await startOver('pseudonym.key');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`The pseudonym key ${join(dir, 'pseudonym.key')} is damaged`);
    expect(result.stderr).toContain('delete it to have a new one made');
    expect(result.stderr).not.toContain('Start-up failed');
  });

  it('npm run report over a damaged app.db says the same, exit 2', async () => {
    const dir = await tempDataDir();
    await writeFile(join(dir, 'app.db'), GARBAGE);
    const result = await runCli('src/cli/report.ts', [], { env: { RAG_DATA_DIR: dir } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`The bot's database at ${join(dir, 'app.db')} is damaged`);
  });
});
