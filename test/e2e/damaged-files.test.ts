/**
 * The real process started over damaged files of its own (issue 17 item 17): each stops with
 * one message that names the file, what it holds and what to do, never a bare SQLite error or
 * a stack trace, and leaves the file as it was for the operator to restore or move aside.
 */
import { execFileSync } from 'node:child_process';
import { chmod, chown, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openAppDatabase } from '../../src/state/app-db.js';
import { LocalStore } from '../../src/stores/local/index.js';
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

/**
 * Makes `file` in `dir` readable but not writable by the bot: as root (who writes anything),
 * the file stays root's, the folder becomes `nobody`'s and the bot runs as `nobody`; as another
 * user, the file is made read-only.
 */
async function unwritable(dir: string, file: string) {
  if (process.getuid?.() !== 0) {
    await chmod(join(dir, file), 0o444);
    return {};
  }
  const { uid, gid } = nobody();
  await chmod(join(dir, file), 0o644);
  await chown(dir, uid, gid);
  return { asUser: { user: String(uid), group: String(gid) } };
}

function nobody(): { uid: number; gid: number } {
  const line = execFileSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).split(':');
  return { uid: Number(line[2]), gid: Number(line[3]) };
}

describe('npm start over a file of its own it may read but not write', () => {
  it('app.db: stops at once, naming the file, what it holds and how to give the bot access', async () => {
    const dir = await tempDataDir();
    openAppDatabase(dir).close();
    const as = await unwritable(dir, 'app.db');
    const result = await runCli('src/main.ts', [], {
      env: {
        WEB_CHAT: 'true',
        PORT: String(await freePort()),
        RAG_DATA_DIR: dir,
        RAG_KNOWLEDGE_DIR: join(dir, 'none'),
      },
      ...as,
    });
    const file = join(dir, 'app.db');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `The bot's database at ${file} cannot be written by the user the bot runs as`,
    );
    expect(result.stderr).toContain('answer records');
    expect(result.stderr).toContain('Give that user write access');
    expect(result.stderr).not.toContain('Start-up failed');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).not.toContain('Web chat:');
  });

  it('the local store: the same for npm run web, exit 2', async () => {
    const dir = await tempDataDir();
    (await LocalStore.open({ dir })).close();
    const as = await unwritable(dir, 'store.sqlite');
    const result = await runCli('src/cli/web.ts', [], {
      env: { PORT: String(await freePort()), RAG_DATA_DIR: dir, RAG_KNOWLEDGE_DIR: join(dir, 'none') },
      ...as,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `The local store at ${join(dir, 'store.sqlite')} cannot be written by the user the bot runs as`,
    );
    expect(result.stdout).not.toContain('Web chat:');
  });
});

describe('npm run web over a pseudonym key it cannot use as it is', () => {
  it('a link to a file that does not exist: named, exit 2, no record ever written without a key', async () => {
    const dir = await tempDataDir();
    await symlink(join(dir, 'gone', 'pseudonym.key'), join(dir, 'pseudonym.key'));
    const result = await runCli('src/cli/web.ts', [], {
      env: { PORT: String(await freePort()), RAG_DATA_DIR: dir, RAG_KNOWLEDGE_DIR: join(dir, 'none') },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`The pseudonym key ${join(dir, 'pseudonym.key')} is a link to`);
    expect(result.stderr).toContain('which does not exist');
    expect(result.stdout).not.toContain('Web chat:');
  });

  it.skipIf(process.getuid?.() !== 0)(
    'readable by everyone and owned by another user, so the bot cannot make it private: named, exit 2',
    async () => {
      const dir = await tempDataDir();
      const key = join(dir, 'pseudonym.key');
      await writeFile(key, `${Buffer.alloc(32, 7).toString('base64')}\n`, { mode: 0o644 });
      const { uid, gid } = nobody();
      await chown(dir, uid, gid);
      const result = await runCli('src/cli/web.ts', [], {
        env: { PORT: String(await freePort()), RAG_DATA_DIR: dir, RAG_KNOWLEDGE_DIR: join(dir, 'none') },
        asUser: { user: String(uid), group: String(gid) },
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`The pseudonym key ${key} can be read by other users (mode 644)`);
      expect(result.stderr).toContain('chmod 600');
      expect(result.stderr).not.toContain('Unexpected error');
    },
  );
});
