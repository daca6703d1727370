/**
 * The production install is `npm ci --omit=dev --omit=optional` (Dockerfile, docs/operating.md).
 * npm marks a package `devOptional` in the lockfile when it is both a dev dependency and an
 * optional dependency of something else; such a package is left out only when dev AND optional
 * dependencies are omitted. TypeScript is one: valibot declares it an optional peer. Omitting
 * optional dependencies is safe only while no production package is optional; if one becomes
 * so (a native accelerator, a platform binary), this fails and the install command needs a
 * second look.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

interface LockEntry {
  readonly dev?: boolean;
  readonly optional?: boolean;
  readonly devOptional?: boolean;
}

const lock = JSON.parse(readFileSync(join(import.meta.dirname, '../../package-lock.json'), 'utf8')) as {
  packages: Record<string, LockEntry>;
};
const packages = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));

describe('the lockfile behind the production install', () => {
  it('has TypeScript as devOptional, which --omit=dev alone would keep', () => {
    expect(lock.packages['node_modules/typescript']).toMatchObject({ devOptional: true });
    expect(lock.packages['node_modules/typescript']?.dev).toBeUndefined();
  });

  it('has no production package that --omit=optional would leave out', () => {
    const optionalInProduction = packages
      .filter(([, entry]) => entry.optional && !entry.dev)
      .map(([path]) => path);
    expect(optionalInProduction).toEqual([]);
  });
});
