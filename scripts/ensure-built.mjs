// Runs before `npm start`, which starts the compiled bot. In a development checkout (TypeScript
// installed) it compiles when the sources are newer than the build, so `npm start` never runs
// stale code; a production install (no dev dependencies) must ship dist/ already built, as the
// Docker image does, and gets a clear message when it does not.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ENTRY = 'dist/src/main.js';
const TSC = 'node_modules/typescript/bin/tsc';

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const builtAt = existsSync(ENTRY) ? statSync(ENTRY).mtimeMs : 0;
if (existsSync(TSC)) {
  const sourcesAt = Math.max(...['src', 'commands'].filter(existsSync).map(newestMtime));
  if (sourcesAt > builtAt) {
    process.stderr.write('Compiling the bot (npm run build)…\n');
    const build = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
    process.exit(build.status ?? 1);
  }
} else if (builtAt === 0) {
  process.stderr.write(
    `${ENTRY} is missing. Build it where the dev dependencies are installed (npm ci && npm run build) ` +
      'and ship dist/ with the production install, or run from source with npm run dev.\n',
  );
  process.exit(1);
}
