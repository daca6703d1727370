/** The sentences a failed start-up is reduced to, and how each output form carries them. */
import { describe, expect, it } from 'vitest';
import { describeStartupFailure, reportStartupFailure } from '../../src/app/startup-failure.js';
import { createLogger } from '../../src/log.js';
import { StartupError } from '../../src/startup-error.js';

const listenError = (code: string) =>
  Object.assign(new Error(`listen ${code}: 0.0.0.0:80`), { code, syscall: 'listen', port: 80 });

describe('describeStartupFailure', () => {
  it('turns the errors of listening into what to set', () => {
    expect(describeStartupFailure(listenError('EACCES'))).toEqual({
      sentence:
        'This process may not listen on port 80: set PORT to a port above 1023 (a reverse proxy can serve 80 or 443 in front of it).',
      foreseen: true,
    });
    expect(describeStartupFailure(listenError('EADDRINUSE')).sentence).toMatch(/^Port 80 is already in use/);
  });

  it('keeps a foreseen sentence as it is, and marks anything else as not foreseen, ending in one full stop', () => {
    expect(describeStartupFailure(new StartupError('Do this.'))).toEqual({
      sentence: 'Do this.',
      foreseen: true,
    });
    expect(describeStartupFailure(new TypeError('x is not a function'))).toEqual({
      sentence: 'Start-up failed: x is not a function.',
      foreseen: false,
    });
    expect(describeStartupFailure(new Error('it broke.')).sentence).toBe('Start-up failed: it broke.');
  });
});

describe('reportStartupFailure on a terminal', () => {
  it('points to LOG_LEVEL=debug for a failure nobody foresaw, and never prints a secret', async () => {
    const written: string[] = [];
    // Built at run time: the shape of a bot token, without one written in the sources.
    const secret = ['xoxb', '123456789', 'secret', 'token'].join('-');
    await reportStartupFailure(
      new Error(`the SDK echoed ${secret}`),
      {},
      {
        readable: true,
        debug: false,
        log: createLogger({ level: 'silent' }),
        write: (text) => written.push(text),
      },
    );
    expect(written).toEqual(['Start-up failed: the SDK echoed [redacted]. (LOG_LEVEL=debug shows where.)\n']);
  });
});
