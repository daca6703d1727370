/**
 * The Docker image starts the bot exactly as `npm start` does: the same Node flags (memory
 * settings measured by the lean bench) and the same compiled entry.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startArguments } from '../../bench/support/compiled-bot.js';
import { imageCommand, parseDockerfile } from '../support/dockerfile.js';

const ROOT = join(import.meta.dirname, '../..');

describe('start command', () => {
  it('is the same in the Docker image as in npm start', () => {
    const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    expect(imageCommand(stages.at(-1)!)).toEqual(['node', ...startArguments()]);
    expect(startArguments().at(-1)).toBe('dist/src/main.js');
  });
});
