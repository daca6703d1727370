import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openAppDatabase } from '../../src/state/app-db.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('the app database', () => {
  it('applies each migration once, across two opens of the same file, and rolls back failed work', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rag-appdb-'));
    dirs.push(dir);
    const first = openAppDatabase(dir);
    const second = openAppDatabase(dir);
    const table = 'CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL) STRICT';
    first.migrate('notes-1', table);
    second.migrate('notes-1', table); // would throw "table notes already exists" if run twice
    first.db.prepare('INSERT INTO notes (text) VALUES (?)').run('kept');
    expect(() =>
      second.transaction(() => {
        second.db.prepare('INSERT INTO notes (text) VALUES (?)').run('lost');
        throw new Error('fails half way');
      }),
    ).toThrow('fails half way');
    expect(second.db.prepare('SELECT text FROM notes').all()).toEqual([{ text: 'kept' }]);
    first.close();
    second.close();
  });
});
