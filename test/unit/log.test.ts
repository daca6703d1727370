import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, destination };
}

describe('logs never carry secrets', () => {
  const secret = 'gsk_live_0123456789abcdefghijklmnop';

  it('redacts secret fields by name', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', destination });
    log.info(
      { apiKey: secret, headers: { authorization: `Bearer ${secret}` }, GROQ_API_KEY: secret },
      'calling',
    );
    const output = lines.join('');
    expect(output).not.toContain(secret);
    expect(output).toContain('[redacted]');
    expect(JSON.parse(lines[0]!).msg).toBe('calling');
  });

  it('scrubs a configured secret wherever it appears, including error messages from SDKs', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', destination, secrets: [secret] });
    log.error({ err: new Error(`401 Unauthorized for key ${secret}`) }, `request with ${secret} failed`);
    const output = lines.join('');
    expect(output).not.toContain(secret);
    const entry = JSON.parse(lines[0]!);
    expect(entry.msg).toBe('request with [redacted] failed');
    expect(entry.err.message).toBe('401 Unauthorized for key [redacted]');
  });

  it('writes human-readable lines in pretty mode', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', format: 'pretty', destination });
    log.info({ questionId: 'q-1' }, 'answered');
    const output = lines.join('');
    expect(output).toContain('answered');
    expect(output).toContain('q-1');
    expect(() => JSON.parse(output)).toThrow();
  });
});
