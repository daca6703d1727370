/**
 * `npm ci` on a fresh clone ends without "install scripts not yet covered by allowScripts":
 * every locked package with an install script has been reviewed in package.json's allowScripts
 * (npm 11 skips unreviewed ones and lists them after every install). A new dependency with an
 * install script fails here until someone decides. esbuild's postinstall (tsx's, a dev
 * dependency) only re-checks the binary its platform package already installed, and may
 * download when that is missing, so it stays denied: nothing is fetched at install time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../e2e/cli.js';

interface LockEntry {
  readonly hasInstallScript?: boolean;
}

describe('install scripts of the locked packages', () => {
  it('are each allowed or denied in package.json, so npm ci has nothing to warn about', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, LockEntry>;
    };
    const { allowScripts = {} } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      allowScripts?: Record<string, boolean>;
    };
    const withScripts = Object.entries(lock.packages)
      .filter(([path, entry]) => path.startsWith('node_modules/') && entry.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts).toContain('esbuild');
    const unreviewed = withScripts.filter(
      (name) => !Object.keys(allowScripts).some((key) => key === name || key.startsWith(`${name}@`)),
    );
    expect(unreviewed).toEqual([]);
    expect(allowScripts.esbuild).toBe(false);
  });
});
