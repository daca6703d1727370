/** `npm run doctor`: a table of what works and how to fix what does not; exit 1 if anything fails. */
import { loadConfig } from '../config.js';
import { formatChecks, runChecks } from '../doctor/checks.js';
import { runCommand } from './run.js';

async function main(): Promise<number> {
  const results = await runChecks(loadConfig());
  process.stdout.write(`${formatChecks(results)}\n`);
  const failed = results.filter((result) => result.status === 'fail').length;
  process.stdout.write(failed === 0 ? '\nEverything configured works.\n' : `\n${failed} check(s) failed.\n`);
  return failed === 0 ? 0 : 1;
}

runCommand(main, { exitNow: true });
