/**
 * Runs a command's `main` and exits with the code it returns. Expected errors print their
 * message alone (exit 2): configuration problems, a damaged file of the bot's (the local store,
 * app.db, the pseudonym key), a database or service refusing.
 * Anything else is a bug: one line, exit 1, never a stack trace for the user.
 */
import { ConfigError } from '../config.js';
import { isRagError } from '../core/failures.js';
import { DatabaseError } from '../state/database-error.js';
import { isFileProblem } from '../state/file-problems.js';

export function runCommand(main: () => Promise<number>, options: { exitNow?: boolean } = {}): void {
  const finish = (code: number) => {
    // Some SDK clients keep sockets open; a command that is done should not wait for them.
    if (options.exitNow) process.exit(code);
    process.exitCode = code;
  };
  main().then(finish, (error: unknown) => {
    if (error instanceof ConfigError || isFileProblem(error) || error instanceof DatabaseError) {
      process.stderr.write(`${error.message}\n`);
      finish(2);
    } else if (isRagError(error)) {
      process.stderr.write(`${error.failure.message}\n`);
      finish(2);
    } else {
      process.stderr.write(`Unexpected error: ${(error as Error).message}\n`);
      finish(1);
    }
  });
}
