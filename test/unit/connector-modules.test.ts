/**
 * The connectors' libraries (isomorphic-git, Octokit, Notion's client, htmlparser2) cost
 * nothing until a source of their kind syncs: a composed bot has its source kinds but loads
 * none of them, and a Git sync loads none either: isomorphic-git runs in its reader process.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

function modulesAfter(mode: 'idle' | 'sync') {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', 'test/fixtures/connector-modules.ts', mode],
    {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, RAG_DOTENV: 'off' },
    },
  );
  return JSON.parse(out) as Record<string, boolean>;
}

describe('connector libraries', () => {
  it('stay unloaded in a bot that has not synced such a source', () => {
    expect(modulesAfter('idle')).toEqual({
      knowledge: true,
      isomorphicGit: false,
      gitReader: false,
      octokit: false,
      notion: false,
      htmlparser2: false,
    });
  });

  it('load one at a time: a Git sync loads its reader, whose process holds isomorphic-git, and nothing else', () => {
    expect(modulesAfter('sync')).toEqual({
      knowledge: true,
      isomorphicGit: false,
      gitReader: true,
      octokit: false,
      notion: false,
      htmlparser2: false,
    });
  });
});
