import { describe, expect, it } from 'vitest';
import { createTokenCipher, InstallationKeyError } from '../../src/platforms/slack/token-crypto.js';

const key = (byte: number) => Buffer.alloc(32, byte).toString('base64');

describe('installation token encryption', () => {
  it('round-trips, never shows the token, and differs on every seal', () => {
    const cipher = createTokenCipher(key(1));
    const a = cipher.seal('xoxb-secret-token', 'T:T1');
    const b = cipher.seal('xoxb-secret-token', 'T:T1');
    expect(a).not.toContain('xoxb');
    expect(a).not.toBe(b);
    expect(cipher.open(a, 'T:T1')).toBe('xoxb-secret-token');
    expect(cipher.keyIdOf(a)).toBe(cipher.currentKeyId);
  });

  it('names the missing key instead of returning garbage', () => {
    const sealed = createTokenCipher(key(1)).seal('xoxb-secret-token', 'T:T1');
    const other = createTokenCipher(key(2));
    expect(() => other.open(sealed, 'T:T1')).toThrow(InstallationKeyError);
    expect(() => other.open(sealed, 'T:T1')).toThrow(
      /encrypted with key [0-9a-f]{12}, which is not in SLACK_INSTALLATION_KEY/,
    );
  });

  it('refuses a record moved onto another workspace or altered', () => {
    const cipher = createTokenCipher(key(1));
    const sealed = cipher.seal('xoxb-secret-token', 'T:T1');
    expect(() => cipher.open(sealed, 'T:T2')).toThrow(/altered or damaged/);
    const flipped = `${sealed.slice(0, -2)}${sealed.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(() => cipher.open(flipped, 'T:T1')).toThrow(InstallationKeyError);
  });

  it('rotates: the new key seals, old keys still open', () => {
    const old = createTokenCipher(key(1));
    const sealed = old.seal('xoxb-secret-token', 'T:T1');
    const rotated = createTokenCipher(`${key(2)},${key(1)}`);
    expect(rotated.open(sealed, 'T:T1')).toBe('xoxb-secret-token');
    expect(rotated.keyIdOf(rotated.seal('x', 'T:T1'))).toBe(rotated.currentKeyId);
    expect(rotated.currentKeyId).not.toBe(old.currentKeyId);
  });
});
