import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPseudonymKey, PseudonymKeyError } from '../../src/records/pseudonyms.js';
import { RecordStore } from '../../src/records/store.js';
import { openAppDatabase } from '../../src/state/app-db.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rag-pseudonyms-'));
  dirs.push(dir);
  return dir;
};

describe('the pseudonym key', () => {
  it('is made once per installation, readable by the bot’s user only, and the same for every process', async () => {
    const dir = await tempDir();
    const first = loadPseudonymKey(dir);
    expect(first).toHaveLength(32);
    expect((await stat(join(dir, 'pseudonym.key'))).mode & 0o777).toBe(0o600);
    expect(loadPseudonymKey(dir).equals(first)).toBe(true);
  });

  it('comes from RECORD_PSEUDONYM_SECRET when the operator sets one (no file is made)', async () => {
    const dir = await tempDir();
    expect(loadPseudonymKey(dir, 'an operator secret of thirty-two+ chars').toString()).toBe(
      'an operator secret of thirty-two+ chars',
    );
    await expect(stat(join(dir, 'pseudonym.key'))).rejects.toThrow();
  });

  it('a damaged key file is named, with what to do', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'pseudonym.key'), 'not a key');
    expect(() => loadPseudonymKey(dir)).toThrow(PseudonymKeyError);
    expect(() => loadPseudonymKey(dir)).toThrow(/pseudonym\.key is damaged.*delete it/s);
    expect(await readFile(join(dir, 'pseudonym.key'), 'utf8')).toBe('not a key');
  });
});

describe('records kept before pseudonyms were keyed', () => {
  it('lose their reversible unkeyed hashes on first open; the same person still groups together', async () => {
    const dir = await tempDir();
    const unkeyed = (id: string) =>
      createHash('sha256').update(`rag-chat-bot:person:${id}`).digest('hex').slice(0, 16);
    const app = openAppDatabase(dir);
    // The records schema as an earlier version left it, with unkeyed pseudonyms in it.
    new RecordStore(app, Buffer.alloc(32, 1));
    app.db.exec("DELETE FROM migrations WHERE name = 'answer-records-keyed-pseudonyms-1'");
    const insert = app.db.prepare(
      `INSERT INTO answer_records (question_id, asked_at, platform, direct, asker_id, question_hash, outcome, degraded, sources)
       VALUES (?, 1, 'web', 1, ?, 'h', 'answered', 0, '[]')`,
    );
    insert.run('q1', unkeyed('203.0.113.7'));
    insert.run('q2', unkeyed('203.0.113.7'));
    const store = new RecordStore(app, loadPseudonymKey(dir));
    const [a, b] = [(await store.answer('q1'))!.askerId, (await store.answer('q2'))!.askerId];
    expect(a).not.toBe(unkeyed('203.0.113.7'));
    expect(a).toBe(b);
    app.close();
  });
});
