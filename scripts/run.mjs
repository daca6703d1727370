// Runs one of the bot's commands (npm run ask, ingest, doctor, report, db:copy, web, eval,
// commands:deploy): `node scripts/run.mjs src/cli/ask.ts <its arguments>`.
//
// In a development checkout (tsx installed) the TypeScript source runs, as `node --import tsx`
// would run it: no build step. A production install has no tsx (a dev dependency): the same
// command runs the compiled file in the shipped dist/ instead, so every command the guides name
// works on a server as written. The command runs in this process (no child to relay signals or
// an interactive terminal to), with process.argv as if Node had started it directly.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DIST, ROOT } from './build.mjs';
import { requireSupportedNode } from './node-version.mjs';

requireSupportedNode();

const [entry, ...args] = process.argv.slice(2);
if (!entry?.endsWith('.ts')) {
  process.stderr.write('Usage: node scripts/run.mjs <source file .ts> [arguments]\n');
  process.exit(2);
}

/** True where the dev dependencies are installed: tsx can run the sources. */
function hasTsx() {
  try {
    createRequire(join(ROOT, 'package.json')).resolve('tsx');
    return true;
  } catch {
    return false;
  }
}

let file = join(ROOT, entry);
if (hasTsx()) {
  await import('tsx');
} else {
  file = join(DIST, entry.replace(/\.ts$/, '.js'));
  if (!existsSync(file)) {
    process.stderr.write(
      `${file.slice(ROOT.length + 1)} is missing: this install has no development dependencies, so it runs the ` +
        'compiled bot. Build it where they are installed (npm ci && npm run build) and ship dist/ with it.\n',
    );
    process.exit(1);
  }
}
process.argv = [process.argv[0], file, ...args];
await import(pathToFileURL(file).href);
