/**
 * The secret that turns people into pseudonyms in the answer records. A pseudonym is a keyed
 * hash (HMAC-SHA-256) of a platform user id or, for the web chat, a visitor's address: without
 * the secret, nobody holding app.db can find whose it is by hashing every candidate (an IPv4
 * address space is 4 billion guesses, a workspace's members far fewer). The secret is the
 * operator's (RECORD_PSEUDONYM_SECRET), or generated once per installation and kept beside the
 * records, readable by the bot's user only (RAG_DATA_DIR/pseudonym.key, mode 0600).
 */

import { createHmac, randomBytes } from 'node:crypto';
import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';

export const PSEUDONYM_KEY_FILE = 'pseudonym.key';
const KEY_BYTES = 32;

/** The key cannot be read or is not one: the message names the file and what to do. */
export class PseudonymKeyError extends Error {
  override name = 'PseudonymKeyError';
}

/** Pseudonyms of people under one key. */
export type Pseudonymize = (id: string) => string;

export function pseudonymizer(key: Buffer | string): Pseudonymize {
  return (id) => createHmac('sha256', key).update(`rag-chat-bot:person:${id}`).digest('hex').slice(0, 32);
}

/**
 * The installation's key: `secret` when the operator sets one, otherwise the key file in
 * `dataDir`, created on first use (one writer wins when processes start together).
 */
export function loadPseudonymKey(dataDir: string, secret?: string): Buffer {
  if (secret) return Buffer.from(secret, 'utf8');
  const file = join(dataDir, PSEUDONYM_KEY_FILE);
  const existing = readKeyFile(file);
  if (existing) return existing;
  mkdirSync(dataDir, { recursive: true });
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temporary, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    // A link appears whole or not at all, and never replaces a key another process made first.
    linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new PseudonymKeyError(`Cannot create the pseudonym key ${file}: ${(error as Error).message}`);
    }
  } finally {
    unlinkSync(temporary);
  }
  const made = readKeyFile(file);
  if (!made)
    throw new PseudonymKeyError(`Cannot create the pseudonym key ${file}: it vanished as it was made`);
  return made;
}

/** A name that is there but leads nowhere: a link to a file that does not exist. */
function danglingLink(file: string): string | undefined {
  try {
    return lstatSync(file).isSymbolicLink() ? readlinkSync(file) : undefined;
  } catch {
    return undefined;
  }
}

function whoAmI(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

function readKeyFile(file: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      const target = danglingLink(file);
      if (target === undefined) return undefined;
      throw new PseudonymKeyError(
        `The pseudonym key ${file} is a link to ${target}, which does not exist. Restore the file it points ` +
          'to, or remove the link to have a new key made: people in answer records kept so far would then no ' +
          'longer match the same people in new ones.',
      );
    }
    throw new PseudonymKeyError(`Cannot read the pseudonym key ${file}: ${(error as Error).message}`);
  }
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== KEY_BYTES || key.toString('base64') !== text.trim()) {
    throw new PseudonymKeyError(
      `The pseudonym key ${file} is damaged (not ${KEY_BYTES} bytes of base64). Restore it from a backup, ` +
        'or delete it to have a new one made: people in answer records kept so far would then no longer ' +
        'match the same people in new ones.',
    );
  }
  // Readable by the bot's user only, even if it was copied in with wider rights.
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    try {
      chmodSync(file, 0o600);
    } catch (error) {
      throw new PseudonymKeyError(
        `The pseudonym key ${file} can be read by other users (mode ${mode.toString(8)}), and the user the bot ` +
          `runs as (${whoAmI()}) cannot make it private: ${(error as Error).message}. Make the bot's user its ` +
          'owner, or restrict it yourself (chmod 600), then start again.',
      );
    }
  }
  return key;
}
