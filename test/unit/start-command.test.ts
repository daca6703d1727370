/**
 * The Docker image starts the bot exactly as `npm start` does: the same Node flags (memory
 * settings measured by the lean bench) and the same compiled entry.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startArguments } from '../../bench/support/compiled-bot.js';

const ROOT = join(import.meta.dirname, '../..');

/** The exec-form ENTRYPOINT and CMD of the Dockerfile's final stage, joined. */
function dockerCommand(): string[] {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').split('\n');
  const lastOf = (instruction: string) =>
    lines
      .filter((line) => line.startsWith(`${instruction} [`))
      .at(-1)
      ?.slice(instruction.length + 1);
  return [...JSON.parse(lastOf('ENTRYPOINT') ?? '[]'), ...JSON.parse(lastOf('CMD') ?? '[]')] as string[];
}

describe('start command', () => {
  it('is the same in the Docker image as in npm start', () => {
    expect(dockerCommand()).toEqual(['node', ...startArguments()]);
    expect(startArguments().at(-1)).toBe('dist/src/main.js');
  });
});
