/**
 * Encryption at rest for the tokens of Slack installations (AES-256-GCM, node:crypto).
 *
 * SLACK_INSTALLATION_KEY holds one or more 32-byte keys, base64, comma-separated: the first
 * encrypts, all of them decrypt, so a key can be rotated by putting the new one first and
 * keeping the old one until every installation has been re-encrypted. Each sealed value
 * names the key it was sealed with (a fingerprint, not the key), so a wrong or missing key
 * is a clear error instead of garbage; GCM's tag makes tampering one too. The workspace id
 * is bound in as associated data, so a row copied onto another workspace does not open.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The key cannot open what was stored: wrong, missing or rotated away. Safe to print. */
export class InstallationKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstallationKeyError';
  }
}

export const KEY_HINT =
  'SLACK_INSTALLATION_KEY must be 32 random bytes in base64 (generate one with: openssl rand -base64 32), optionally followed by older keys after commas';

/** Decodes the variable into keys; throws with a message that never contains the value. */
export function parseInstallationKeys(value: string): Buffer[] {
  const parts = value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new Error(KEY_HINT);
  return parts.map((part, index) => {
    const standard = part.replace(/-/g, '+').replace(/_/g, '/');
    const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(standard) ? Buffer.from(standard, 'base64') : Buffer.alloc(0);
    if (bytes.length !== KEY_BYTES) {
      throw new Error(`${KEY_HINT} (key ${index + 1} decodes to ${bytes.length} bytes, not ${KEY_BYTES})`);
    }
    return bytes;
  });
}

/** A short public name for a key: which key sealed a value, without revealing the key. */
export function keyFingerprint(key: Buffer): string {
  return createHash('sha256')
    .update('rag-chat-bot slack installation key\0')
    .update(key)
    .digest('hex')
    .slice(0, 12);
}

export interface TokenCipher {
  /** Fingerprint of the key new values are sealed with. */
  readonly currentKeyId: string;
  /** Seals `plain` for the record named `context` (the workspace). */
  seal(plain: string, context: string): string;
  /** Opens a sealed value; throws `InstallationKeyError` if no configured key can. */
  open(sealed: string, context: string): string;
  /** The fingerprint of the key a sealed value needs. */
  keyIdOf(sealed: string): string;
  knows(keyId: string): boolean;
}

export function createTokenCipher(variable: string): TokenCipher {
  const keys = new Map(parseInstallationKeys(variable).map((key) => [keyFingerprint(key), key]));
  const [currentKeyId, currentKey] = [...keys][0]!;
  const split = (sealed: string) => {
    const [version, keyId, payload] = sealed.split(':');
    if (version !== VERSION || !keyId || !payload) {
      throw new InstallationKeyError('a stored Slack installation is not in a format this version can read');
    }
    return { keyId, payload: Buffer.from(payload, 'base64url') };
  };
  return {
    currentKeyId,
    seal(plain, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', currentKey, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const payload = Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
      return `${VERSION}:${currentKeyId}:${payload}`;
    },
    open(sealed, context) {
      const { keyId, payload } = split(sealed);
      const key = keys.get(keyId);
      if (!key) {
        throw new InstallationKeyError(
          `the Slack installation of ${context} was encrypted with key ${keyId}, which is not in SLACK_INSTALLATION_KEY (configured: ${[...keys.keys()].join(', ')}). Restore the key it was stored with (keep it after a comma while rotating), or reinstall the app in that workspace`,
        );
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, payload.subarray(0, IV_BYTES));
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(payload.subarray(payload.length - TAG_BYTES));
        const body = payload.subarray(IV_BYTES, payload.length - TAG_BYTES);
        return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      } catch {
        throw new InstallationKeyError(
          `the Slack installation of ${context} does not decrypt with key ${keyId}: the stored record was altered or damaged; reinstall the app in that workspace`,
        );
      }
    },
    keyIdOf: (sealed) => split(sealed).keyId,
    knows: (keyId) => keys.has(keyId),
  };
}
