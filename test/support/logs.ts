import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';

/** A real logger whose JSON lines are kept in memory for assertions. */
export function captureLogs(level: 'info' | 'debug' = 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger({ level, destination }), lines };
}
