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

  it('scrubs each token of a host=token list and a value padded with spaces, as the code uses them', () => {
    const gitlab = ['glpat', 'x9Qw3rTy7uIo1pAs'].join('-');
    const password = 'Zx8cV6bN4mQ2wE0r';
    const padded = ['gsk', 'padded0123456789'].join('_');
    const saved = {
      hosts: process.env.GIT_HOST_TOKENS,
      groq: process.env.GROQ_API_KEY,
      database: process.env.DATABASE_URL,
    };
    process.env.GIT_HOST_TOKENS = `gitlab.example.com=${gitlab}, git.example.org = bot:${password}`;
    process.env.GROQ_API_KEY = `  ${padded}  `;
    process.env.DATABASE_URL = 'postgres://bot:pw-0123456@db.example/rag?sslmode=require';
    try {
      const { lines, destination } = capture();
      const log = createLogger({ level: 'info', destination });
      log.warn(`clone failed with ${gitlab}; auth bot:${password}; key ${padded}`);
      log.warn(`password alone: ${password}`);
      log.warn('connect with sslmode=require');
      const output = lines.join('');
      for (const value of [gitlab, password, padded]) expect(output).not.toContain(value);
      expect(output).toContain('auth [redacted]; key [redacted]');
      expect(output).toContain('sslmode=require');
    } finally {
      for (const [name, value] of [
        ['GIT_HOST_TOKENS', saved.hosts],
        ['GROQ_API_KEY', saved.groq],
        ['DATABASE_URL', saved.database],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
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
