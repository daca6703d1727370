/**
 * What a process that cannot start says, and how. Foreseen problems (credentials refused, a
 * service out of reach, the port taken, a damaged data file, a wrong key) are one sentence
 * with the remedy; anything else is a bug, shown as "Start-up failed: …".
 *
 * On a terminal (or LOG_FORMAT=pretty) that sentence is all that is printed, the stack only
 * at LOG_LEVEL=debug. For log collectors (JSON, the default off a terminal) it is one fatal
 * record whose message is the sentence: with the error's type and code, and its stack when the
 * failure was not foreseen or at debug.
 */
import { ConfigError } from '../config.js';
import { type Logger, redactSecrets } from '../log.js';
import { InstallationKeyError } from '../platforms/slack/token-crypto.js';
import { StartupError } from '../startup-error.js';
import { DatabaseError } from '../state/database-error.js';
import { isFileProblem } from '../state/file-problems.js';

export interface StartupFailure {
  /** One sentence: what is wrong and what to do. */
  readonly sentence: string;
  /** Foreseen: the sentence says it all, no stack needed to act on it. */
  readonly foreseen: boolean;
}

export interface StartupContext {
  /** PORT, to name it when it cannot be listened on. */
  readonly port?: number;
  /** RAG_DATA_DIR, to name it when a file in it is damaged. */
  readonly dataDir?: string;
}

interface ErrorFields {
  readonly code?: unknown;
  readonly errcode?: unknown;
  readonly syscall?: unknown;
  readonly port?: unknown;
}

/** SQLite's "not a database" and "malformed image" result codes. */
const SQLITE_DAMAGED = [11, 26];

export function describeStartupFailure(error: unknown, context: StartupContext = {}): StartupFailure {
  if (
    error instanceof StartupError ||
    isFileProblem(error) ||
    error instanceof DatabaseError ||
    error instanceof InstallationKeyError ||
    error instanceof ConfigError
  ) {
    return { sentence: error.message, foreseen: true };
  }
  const fields = (error ?? {}) as ErrorFields;
  const message = error instanceof Error ? error.message : String(error);
  const port = typeof fields.port === 'number' ? fields.port : context.port;
  if (fields.code === 'EADDRINUSE') {
    return {
      sentence: `Port ${port} is already in use by another program: stop that program, or set PORT to a free port.`,
      foreseen: true,
    };
  }
  if (fields.code === 'EACCES' && fields.syscall === 'listen') {
    return {
      sentence: `This process may not listen on port ${port}: set PORT to a port above 1023 (a reverse proxy can serve 80 or 443 in front of it).`,
      foreseen: true,
    };
  }
  if (typeof fields.errcode === 'number' && SQLITE_DAMAGED.includes(fields.errcode & 0xff)) {
    return {
      sentence: `A database file in RAG_DATA_DIR (${context.dataDir ?? '.rag-data'}) is damaged (${message}): restore it from a backup, or move it aside to start without what it held.`,
      foreseen: true,
    };
  }
  return { sentence: `Start-up failed: ${message.endsWith('.') ? message : `${message}.`}`, foreseen: false };
}

export interface FailureOutput {
  /** A person reads it: a terminal with LOG_FORMAT unset, or LOG_FORMAT=pretty. */
  readonly readable: boolean;
  /** LOG_LEVEL is debug or trace: show where it failed. */
  readonly debug: boolean;
  /** The JSON log, for everything not readable. */
  readonly log: Logger;
  write(text: string): void;
}

/** The error's stack, with the stacks of its causes. */
function stackOf(error: unknown): string {
  const lines: string[] = [];
  for (let cause = error, depth = 0; cause && depth < 5; depth++) {
    lines.push(cause instanceof Error ? (cause.stack ?? cause.message) : String(cause));
    cause = (cause as { cause?: unknown }).cause;
    if (cause) lines.push('Caused by:');
  }
  return lines.join('\n');
}

/** Reports a start-up failure once, in the form the output calls for; resolves once it is written. */
export async function reportStartupFailure(
  error: unknown,
  context: StartupContext,
  output: FailureOutput,
): Promise<void> {
  const { sentence, foreseen } = describeStartupFailure(error, context);
  if (output.readable) {
    const hint = foreseen || output.debug ? '' : ' (LOG_LEVEL=debug shows where.)';
    output.write(redactSecrets(`${sentence}${hint}\n`));
    if (output.debug) output.write(redactSecrets(`${stackOf(error)}\n`));
    return;
  }
  const fields = (error ?? {}) as ErrorFields;
  const err =
    output.debug || !foreseen
      ? error
      : {
          type: error instanceof Error ? error.name : typeof error,
          ...(typeof fields.code === 'string' ? { code: fields.code } : {}),
        };
  output.log.fatal({ err }, sentence);
  await new Promise<void>((resolve) => output.log.flush(() => resolve()));
}
