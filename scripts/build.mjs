// The one definition of the build. `npm run build` runs this file; `npm start` in a development
// checkout runs the same `build()` (scripts/ensure-built.mjs) when the sources are newer than the
// last build, so the two can never produce different trees. Plain JavaScript, because it must run
// before anything is compiled.
//
// A build starts from an empty dist/: a file removed from the sources leaves no stale module.
// dist/.built is written last, so a build that failed half-way is never taken for a complete one.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
export const DIST = join(ROOT, 'dist');
export const ENTRY = join(DIST, 'src/main.js');
/** Written when a build completed: its time is the build's time. */
export const STAMP = join(DIST, '.built');
/** What a build reads: a change to any of these makes dist/ stale. */
export const INPUTS = ['src', 'commands', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.mjs'];

const CLIENT = 'src/web/client';
/** The browser scripts are served as they are; their type-checking files stay behind. */
const clientFile = (path) => basename(path) !== 'tsconfig.json' && !path.endsWith('.d.ts');

/**
 * The TypeScript compiler in a development checkout: every dev dependency installed. TypeScript
 * alone is not enough: a production install can hold it (the optional peer dependency of
 * valibot), and some type definitions too (production packages depend on them), but not all.
 */
export function compiler() {
  const require = createRequire(join(ROOT, 'package.json'));
  const installed = (name) => {
    try {
      require.resolve(`${name}/package.json`);
      return true;
    } catch (error) {
      // Installed, with an exports map that does not list its package.json.
      return error.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED';
    }
  };
  const { devDependencies = {} } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  return Object.keys(devDependencies).every(installed) ? require.resolve('typescript/bin/tsc') : undefined;
}

/** Newest modification time under `path` (a file or a folder), 0 when it does not exist. */
function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

/** True when dist/ is missing, incomplete, or older than one of the build's inputs. */
export function isStale() {
  if (!existsSync(STAMP)) return true;
  const builtAt = statSync(STAMP).mtimeMs;
  return INPUTS.some((input) => newest(join(ROOT, input)) > builtAt);
}

/** Compiles the bot into dist/ and copies the web client beside it. Returns the exit code. */
export function build({ log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const tsc = compiler();
  if (!tsc) {
    log(
      'npm run build needs the development dependencies (TypeScript and the type definitions): run npm ci first. ' +
        'A production install (npm ci --omit=dev) starts from a dist/ built elsewhere.',
    );
    return 1;
  }
  rmSync(DIST, { recursive: true, force: true });
  const compiled = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (compiled.status !== 0) return compiled.status ?? 1;
  cpSync(join(ROOT, CLIENT), join(DIST, CLIENT), { recursive: true, filter: clientFile });
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = build();
}
