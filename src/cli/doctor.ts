/** `npm run doctor`: a table of what works and how to fix what does not; exit 1 if anything fails. */
import { ConfigError, loadConfig } from '../config.js';
import { formatChecks, runChecks } from '../doctor/checks.js';

async function main(): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const results = await runChecks(config);
  process.stdout.write(`${formatChecks(results)}\n`);
  const failed = results.filter((result) => result.status === 'fail').length;
  process.stdout.write(failed === 0 ? '\nEverything configured works.\n' : `\n${failed} check(s) failed.\n`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`Unexpected error: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
