/**
 * Runs a command's `main` and exits with the code it returns. Expected errors print their
 * message alone (exit 2): configuration problems, a damaged file of the bot's (the local store,
 * app.db, the pseudonym key), a database or service refusing, the port taken (the same
 * sentences `npm start` gives, src/app/startup-failure.ts). Anything else is a bug: one line,
 * exit 1, never a stack trace for the user.
 */
import { describeStartupFailure } from '../app/startup-failure.js';
import { isRagError } from '../core/failures.js';
import { redactSecrets } from '../log.js';

export function runCommand(main: () => Promise<number>, options: { exitNow?: boolean } = {}): void {
  const finish = (code: number) => {
    // Some SDK clients keep sockets open; a command that is done should not wait for them.
    if (options.exitNow) process.exit(code);
    process.exitCode = code;
  };
  main().then(finish, (error: unknown) => {
    if (isRagError(error)) {
      process.stderr.write(`${error.failure.message}\n`);
      finish(2);
      return;
    }
    const failure = describeStartupFailure(error, {
      ...(process.env.PORT ? { port: Number(process.env.PORT) } : {}),
      ...(process.env.RAG_DATA_DIR ? { dataDir: process.env.RAG_DATA_DIR } : {}),
    });
    if (failure.foreseen) {
      process.stderr.write(`${redactSecrets(failure.sentence)}\n`);
      finish(2);
    } else {
      process.stderr.write(redactSecrets(`Unexpected error: ${(error as Error).message}\n`));
      finish(1);
    }
  });
}
