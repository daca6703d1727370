/**
 * Text files in the encodings people's tools write: UTF-8 with or without its byte-order mark,
 * and UTF-16 with one (Windows' "Unicode" text, Excel's "Unicode Text" export, PowerShell's
 * redirection) are read; bytes in no encoding we can tell are refused with a clear reason.
 */
import { describe, expect, it } from 'vitest';
import { loadBytes } from '../../src/ingest/loaders.js';

const TEXT = '# Überblick\n\nDeploys happen on Tuesdays — 周二部署 🚀.\n';

function utf16(text: string, order: 'le' | 'be', mark = true): Buffer {
  const le = Buffer.from(`${mark ? '\ufeff' : ''}${text}`, 'utf16le');
  if (order === 'le') return le;
  const be = Buffer.alloc(le.length);
  for (let i = 0; i + 1 < le.length; i += 2) {
    be[i] = le[i + 1] ?? 0;
    be[i + 1] = le[i] ?? 0;
  }
  return be;
}

describe('text encodings', () => {
  it('reads UTF-16 with its byte-order mark, little- and big-endian, as Markdown, text and CSV', async () => {
    for (const order of ['le', 'be'] as const) {
      for (const name of ['notes.md', 'notes.txt', 'table.csv']) {
        const document = await loadBytes(name, utf16(TEXT, order));
        expect(document).toMatchObject({ kind: 'text', markdown: TEXT });
      }
    }
  });

  it('reads UTF-8 with or without its byte-order mark, the mark dropped', async () => {
    expect(await loadBytes('a.md', Buffer.from(`\ufeff${TEXT}`))).toMatchObject({ markdown: TEXT });
    expect(await loadBytes('a.md', Buffer.from(TEXT))).toMatchObject({ markdown: TEXT, title: 'Überblick' });
  });

  it('refuses UTF-16 without a mark, or with a broken one, saying what is wrong', async () => {
    await expect(loadBytes('a.txt', utf16(TEXT, 'le', false))).rejects.toThrow(
      /control characters|not UTF-8/,
    );
    await expect(loadBytes('a.txt', Buffer.concat([utf16(TEXT, 'le'), Buffer.from([0x41])]))).rejects.toThrow(
      /not UTF-8 text/,
    );
    // An unpaired surrogate is no text in any encoding.
    await expect(loadBytes('a.txt', Buffer.from([0xff, 0xfe, 0x00, 0xd8, 0x41, 0x00]))).rejects.toThrow(
      /not UTF-8 text/,
    );
  });
});

describe('stray control characters', () => {
  it('drops the few NUL and other control characters a text file may hold, keeping tabs and line breaks', async () => {
    const text = `# Notes\n\nDeploys\u0000 happen\u0007 on\tTuesdays.\r\n${'Plain line.\n'.repeat(50)}`;
    const document = await loadBytes('notes.md', Buffer.from(text));
    expect(document.kind === 'text' && document.markdown).toBe(
      `# Notes\n\nDeploys happen on\tTuesdays.\r\n${'Plain line.\n'.repeat(50)}`,
    );
  });
});
