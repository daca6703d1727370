/**
 * A bot in Slack HTTP mode does not load Bolt's Socket Mode receiver (undici) or the OAuth
 * installer (JWT): together about a third of its idle memory. A Socket Mode bot still gets its
 * receiver. Each case runs in a fresh process, since a module once loaded stays loaded.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

function modulesAfter(mode: 'http' | 'socket') {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'test/fixtures/bolt-modules.ts', mode], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return JSON.parse(out) as Record<string, boolean>;
}

describe("Bolt's optional parts", () => {
  it('stay unloaded in HTTP mode', () => {
    expect(modulesAfter('http')).toEqual({
      app: true,
      socketMode: false,
      undici: false,
      oauth: false,
      jsonwebtoken: false,
    });
  });

  it('load when a Socket Mode app is built', () => {
    expect(modulesAfter('socket')).toMatchObject({ app: true, socketMode: true, undici: true });
  });
});
