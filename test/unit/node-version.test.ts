/**
 * npm start and every npm run command check the Node version first (scripts/node-version.mjs):
 * an older Node gets one sentence naming what to install, not "No such built-in module:
 * node:sqlite" from deep inside the local store.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MINIMUM, unsupportedNode } from '../../scripts/node-version.mjs';
import { ROOT } from '../e2e/cli.js';

describe('the Node version check before npm start and npm run', () => {
  it('refuses Node 20 and 22 before 22.13, saying which Node runs and what to install', () => {
    for (const old of ['v20.20.2', 'v22.12.0', 'v18.0.0']) {
      const problem = unsupportedNode(old);
      expect(problem).toContain(`this is Node.js ${old}`);
      expect(problem).toContain('22.13 or newer');
      expect(problem).toContain('npm install --prefix ~/.node24 node@24');
    }
  });

  it('accepts every supported line, this one included', () => {
    for (const supported of ['v22.13.0', 'v22.23.3', 'v23.0.0', 'v24.1.0', 'v26.10.0', process.version]) {
      expect(unsupportedNode(supported)).toBeUndefined();
    }
  });

  it('agrees with package.json engines', () => {
    const { engines } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(engines.node).toBe(`>=${MINIMUM.join('.')}`);
  });

  it('runs before every command and npm start', () => {
    const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    for (const name of ['ask', 'web', 'ingest', 'eval', 'report', 'db:copy', 'doctor', 'commands:deploy'])
      expect(scripts[name]).toMatch(/^node scripts\/run\.mjs /);
    expect(scripts.prestart).toBe('node scripts/ensure-built.mjs');
    for (const script of ['scripts/run.mjs', 'scripts/ensure-built.mjs'])
      expect(readFileSync(join(ROOT, script), 'utf8')).toContain('requireSupportedNode();');
  });
});
