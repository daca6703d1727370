/**
 * How far a PDF's compressed streams expand, measured before pdf.js is given the file: pdf.js
 * inflates a stream whole into memory outside the JavaScript heap (so a worker's heap limit
 * does not stop it), and a 597 KB file of deflate bombs grew the bot by 909 MB. Each stream
 * is inflated once here with node:zlib, counting output and keeping none of it, and the file
 * is refused as soon as the total passes the budget.
 *
 * The scan is linear: every `stream` keyword is found with `indexOf` from where the last one
 * ended, its dictionary is read only within the object it belongs to, and zlib stops at the end
 * of each deflate stream (so a forged `/Length` or a fake `endstream` inside the data changes
 * nothing). Image streams are skipped (text extraction never decodes them). Encrypted files
 * cannot be measured (their streams are ciphertext here): for those the worker's memory and
 * time budgets are the limit.
 */
import { constants, createInflate } from 'node:zlib';

export class ExpansionError extends Error {
  override readonly name = 'ExpansionError';
}

const STREAM = Buffer.from('stream', 'latin1');
const OBJ = Buffer.from('obj', 'latin1');
/** Longest stretch before `stream` read for its dictionary. */
const MAX_DICTIONARY_BYTES = 64 * 1024;

const isWhite = (byte: number | undefined) =>
  byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09 || byte === 0x0c || byte === 0x00;
const isDelimiter = (byte: number | undefined) =>
  byte === undefined || isWhite(byte) || '()<>[]{}/%'.includes(String.fromCharCode(byte));

/** The names after `/Filter` in a stream dictionary (`/FlateDecode` or `[/FlateDecode /ASCII85Decode]`). */
function filters(dictionary: string): string[] {
  const at = dictionary.lastIndexOf('/Filter');
  if (at === -1) return [];
  let i = at + '/Filter'.length;
  while (i < dictionary.length && isWhite(dictionary.charCodeAt(i))) i++;
  const names: string[] = [];
  const array = dictionary[i] === '[';
  if (array) i++;
  for (;;) {
    while (i < dictionary.length && isWhite(dictionary.charCodeAt(i))) i++;
    if (dictionary[i] !== '/') break;
    let end = i + 1;
    while (end < dictionary.length && !isDelimiter(dictionary.charCodeAt(end))) end++;
    names.push(dictionary.slice(i + 1, end));
    i = end;
    if (!array) break;
  }
  return names;
}

function isImage(dictionary: string): boolean {
  const at = dictionary.lastIndexOf('/Subtype');
  if (at === -1) return false;
  let i = at + '/Subtype'.length;
  while (i < dictionary.length && isWhite(dictionary.charCodeAt(i))) i++;
  return dictionary.startsWith('/Image', i) && isDelimiter(dictionary.charCodeAt(i + 6) || undefined);
}

/**
 * Inflates `input` (a zlib stream, possibly followed by anything), giving up past `limit`
 * bytes of output. Returns the bytes produced (and them, when `keep`), however the data ends.
 */
async function inflate(
  input: Uint8Array,
  limit: number,
  keep: boolean,
): Promise<{ size: number; over: boolean; data?: Buffer }> {
  return new Promise((resolve) => {
    const inflater = createInflate({ finishFlush: constants.Z_SYNC_FLUSH });
    const parts: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (over: boolean) => {
      if (settled) return;
      settled = true;
      inflater.removeAllListeners('data');
      inflater.destroy();
      resolve({ size, over, ...(keep && !over ? { data: Buffer.concat(parts) } : {}) });
    };
    inflater.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) finish(true);
      else if (keep) parts.push(chunk);
    });
    inflater.on('end', () => finish(false));
    inflater.on('error', () => finish(false));
    inflater.end(input);
  });
}

/**
 * Throws `ExpansionError` when the PDF's streams inflate past `maxBytes` in all; returns the
 * total otherwise.
 */
export async function checkPdfExpansion(data: Buffer, maxBytes: number): Promise<number> {
  let total = 0;
  let from = 0;
  let regionStart = 0;
  const over = () =>
    new ExpansionError(
      `it expands past ${Math.round(maxBytes / 1_048_576)} MB when decompressed (PARSE_MAX_INFLATED_MB)`,
    );
  for (;;) {
    const at = data.indexOf(STREAM, from);
    if (at === -1) break;
    from = at + STREAM.length;
    // `endstream`, or the word inside a longer name: not a stream's start.
    if (at >= 3 && data.toString('latin1', at - 3, at) === 'end') continue;
    if (!isDelimiter(data[at - 1]) && at > 0) continue;
    let start = at + STREAM.length;
    if (data[start] === 0x0d) start++;
    if (data[start] !== 0x0a && data[start - 1] !== 0x0d) continue;
    if (data[start] === 0x0a) start++;

    const windowStart = Math.max(regionStart, at - MAX_DICTIONARY_BYTES);
    const window = data.subarray(windowStart, at);
    const objAt = window.lastIndexOf(OBJ);
    const dictionary = window.toString('latin1', objAt === -1 ? 0 : objAt + OBJ.length);
    regionStart = at;
    if (isImage(dictionary)) continue;
    const chain = filters(dictionary);
    if (chain.length === 0 || (chain[0] !== 'FlateDecode' && chain[0] !== 'Fl')) continue;

    // Only a chain of inflations can grow past one stage: keep the bytes for the next stage.
    let input: Uint8Array = data.subarray(start);
    for (let stage = 0; stage < chain.length; stage++) {
      const name = chain[stage];
      if (name !== 'FlateDecode' && name !== 'Fl') break;
      const last =
        stage === chain.length - 1 || (chain[stage + 1] !== 'FlateDecode' && chain[stage + 1] !== 'Fl');
      const result = await inflate(input, maxBytes - total, !last);
      if (result.over) throw over();
      if (last) {
        total += result.size;
        break;
      }
      if (!result.data) break;
      input = result.data;
    }
    if (total > maxBytes) throw over();
  }
  return total;
}
