// Runs before `npm start`, which starts the compiled bot. In a development checkout (the dev
// dependencies installed) it builds, exactly as `npm run build` does, whenever the sources are
// newer than the last build, so `npm start` never runs stale or half-built code. A production
// install has no compiler: it starts from the dist/ shipped with it, and says what to do when
// there is none.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build, compiler, ENTRY, isStale, ROOT } from './build.mjs';
import { requireSupportedNode } from './node-version.mjs';

requireSupportedNode();

if (compiler()) {
  if (isStale()) {
    process.stderr.write('Building the bot (npm run build)…\n');
    process.exitCode = build();
  }
} else if (!existsSync(ENTRY)) {
  process.stderr.write(
    'dist/src/main.js is missing. Build it where the dev dependencies are installed (npm ci && npm run build) ' +
      'and ship dist/ with the production install, or run from source with npm run dev.\n',
  );
  process.exitCode = 1;
} else {
  try {
    createRequire(join(ROOT, 'package.json')).resolve('typescript/package.json');
    // Production install with TypeScript in it: npm keeps an optional peer dependency of a
    // production package (valibot's) unless optional dependencies are omitted too.
    process.stderr.write(
      'Note: TypeScript (23 MB) is installed without the other dev dependencies; ' +
        'npm ci --omit=dev --omit=optional leaves it out.\n',
    );
  } catch {
    // The production install as documented: nothing to say.
  }
}
