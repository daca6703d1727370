/**
 * The lockfile as the production install reads it. A package npm marks `optional` is left out by
 * `--omit=optional`; that is safe only when the package that needs it declared it in its own
 * `optionalDependencies` and so loads it only where it exists (pg's pg-cloudflare, used on
 * Cloudflare Workers alone). Anything else optional in production would be a needed package the
 * install silently drops.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LockEntry {
  readonly dev?: boolean;
  readonly optional?: boolean;
  readonly devOptional?: boolean;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
}

export type Lockfile = { readonly packages: Readonly<Record<string, LockEntry>> };

export function readLockfile(dir: string): Lockfile {
  return JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as Lockfile;
}

/** Installed package paths (`node_modules/…`) with their entries. */
export function lockedPackages(lock: Lockfile): [string, LockEntry][] {
  return Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));
}

/** Production packages that some production package declares as its own optional dependency. */
export function declaredOptional(lock: Lockfile): Set<string> {
  const declared = new Set<string>();
  for (const [path, entry] of lockedPackages(lock)) {
    if (entry.dev || entry.devOptional) continue;
    for (const name of Object.keys(entry.optionalDependencies ?? {})) {
      // npm places it beside its dependent when versions clash, else at the top.
      for (const candidate of [`${path}/node_modules/${name}`, `node_modules/${name}`]) {
        if (lock.packages[candidate]) {
          declared.add(candidate);
          break;
        }
      }
    }
  }
  return declared;
}

/** What `npm ci --omit=dev --omit=optional` leaves out on purpose. */
export function omittedInProduction(lock: Lockfile, path: string): boolean {
  const entry = lock.packages[path];
  if (!entry) return true;
  return Boolean(entry.dev || entry.devOptional || (entry.optional && declaredOptional(lock).has(path)));
}
