/**
 * The production install is `npm ci --omit=dev --omit=optional` (Dockerfile, docs/operating.md).
 * npm marks a package `devOptional` in the lockfile when it is both a dev dependency and an
 * optional dependency of something else; such a package is left out only when dev AND optional
 * dependencies are omitted. TypeScript is one: valibot declares it an optional peer. Omitting
 * optional dependencies is safe only while every optional production package is one its
 * dependent declared optional (and so does without); if another becomes so (a native
 * accelerator, a platform binary), this fails and the install command needs a second look.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { declaredOptional, lockedPackages, readLockfile } from '../support/lockfile.js';

const lock = readLockfile(join(import.meta.dirname, '../..'));

describe('the lockfile behind the production install', () => {
  it('has TypeScript as devOptional, which --omit=dev alone would keep', () => {
    expect(lock.packages['node_modules/typescript']).toMatchObject({ devOptional: true });
    expect(lock.packages['node_modules/typescript']?.dev).toBeUndefined();
  });

  it('has no production package that --omit=optional would leave out unless its dependent declared it optional', () => {
    const declared = declaredOptional(lock);
    const optionalInProduction = lockedPackages(lock)
      .filter(([path, entry]) => entry.optional && !entry.dev && !declared.has(path))
      .map(([path]) => path);
    expect(optionalInProduction).toEqual([]);
  });

  it("recognises pg's Cloudflare socket as declared optional by pg", () => {
    expect(declaredOptional(lock).has('node_modules/pg-cloudflare')).toBe(true);
  });
});
