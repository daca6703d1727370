/**
 * The parse pool on real worker threads: no thread before the first document, budgets that
 * stop a document and a worker replaced after one, the read-once cache of a thread's files,
 * and the PDF expansion check on bombs built here.
 */
import { deflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { LruReadFileCache } from '../../src/conversation/attachment-cache.js';
import type { Conversation } from '../../src/conversation/conversation.js';
import { ConversationLayer } from '../../src/conversation/layer.js';
import type { AnswerEvent, Question } from '../../src/core/types.js';
import { TooLargeError } from '../../src/ingest/loaders.js';
import { DEFAULT_PARSE_SETTINGS, ParsePool, readLimits } from '../../src/ingest/parse-pool.js';
import { checkPdfExpansion, ExpansionError } from '../../src/ingest/pdf-expansion.js';
import { silentLogger } from '../../src/log.js';
import { MemoryDedupeStore } from '../../src/ops/shared-state.js';
import { slackNeutralizer, slackPlainText } from '../../src/render/slack-text.js';
import { BUDGET_CSV, tinyPdf } from '../support/files.js';
import { deflateBombPdf } from '../support/hostile-docs.js';

const pools: ParsePool[] = [];
const pool = (settings: Partial<typeof DEFAULT_PARSE_SETTINGS> = {}) => {
  const created = new ParsePool({ ...DEFAULT_PARSE_SETTINGS, ...settings });
  pools.push(created);
  return created;
};
afterAll(() => Promise.all(pools.map((p) => p.close())));

const fileJob = (name: string, content: string | Buffer, target: ParsePool) => ({
  kind: 'file' as const,
  name,
  data: new Uint8Array(typeof content === 'string' ? Buffer.from(content) : content),
  limits: readLimits(target.settings, 'fail'),
  chunkAs: name,
});

describe('the parse pool', () => {
  it('starts no thread until the first document, then parses and chunks in a worker', async () => {
    const parser = pool();
    expect(parser.threads).toBe(0);
    const result = await parser.run(fileJob('notes.md', '# Notes\n\nShip on Tuesdays.', parser));
    expect(parser.threads).toBeGreaterThan(0);
    expect(result.document).toMatchObject({ kind: 'text', title: 'Notes' });
    expect(result.chunks?.[0]?.text).toContain('Ship on Tuesdays.');
  });

  it('stops a document over the heap budget as too large or complex, and the next document gets a new worker', async () => {
    const parser = pool({ memoryMB: 32, maxChars: 100_000_000 });
    // A million records: JSON.parse alone needs far more than 32 MB of heap.
    const records = `[${'{"text":"a record"},'.repeat(1_000_000)}{"text":"last"}]`;
    await expect(parser.run(fileJob('records.json', records, parser))).rejects.toThrow(
      /too large or complex: reading it needed more than 32 MB \(PARSE_MEMORY_MB\)/,
    );
    expect(parser.counts.stopped).toBe(1);
    const after = await parser.run(fileJob('after.md', '# After\n\nStill reading.', parser));
    expect(after.document).toMatchObject({ kind: 'text', title: 'After' });
  });

  it('stops a document over the time budget as too large or complex', async () => {
    // No worker starts and reads a file within a millisecond.
    const parser = pool({ timeMs: 1 });
    const error = await parser.run(fileJob('notes.md', '# Notes', parser)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooLargeError);
    expect((error as Error).message).toMatch(/took longer than 0.001 s \(PARSE_TIME_LIMIT_MS\)/);
  });

  it('refuses an ingested file past the character and page budgets, naming the variable', async () => {
    const parser = pool({ maxChars: 1_000 });
    await expect(parser.run(fileJob('big.md', 'word '.repeat(1_000), parser))).rejects.toThrow(
      /more than 1,000 characters of text .*PARSE_MAX_CHARS/,
    );
    const cut = await parser.run({
      ...fileJob('big.md', 'word '.repeat(1_000), parser),
      limits: readLimits(parser.settings, 'cut'),
    });
    expect(cut.document).toMatchObject({ kind: 'text', truncated: true });
  });
});

describe('the PDF expansion check', () => {
  it('measures an ordinary PDF and lets pdf.js read it', async () => {
    const parser = pool();
    const result = await parser.run(fileJob('guide.pdf', tinyPdf('Backups run nightly.'), parser));
    expect(result.document.kind === 'text' && result.document.markdown).toContain('Backups run nightly.');
  });

  it('refuses a deflate bomb before pdf.js inflates it, however its stream is dressed', async () => {
    const bomb = await deflateBombPdf(64);
    await expect(checkPdfExpansion(bomb, 16 * 1_048_576)).rejects.toBeInstanceOf(ExpansionError);
    // A fake `endstream` early in the data, or a forged /Length, does not hide the rest.
    const hidden = Buffer.from(bomb.toString('latin1').replace('/Length ', '/Length 3 /Junk '), 'latin1');
    await expect(checkPdfExpansion(hidden, 16 * 1_048_576)).rejects.toBeInstanceOf(ExpansionError);
    // Two layers of deflate are measured through both.
    const inner = deflateSync(Buffer.alloc(32 * 1_048_576));
    const outer = deflateSync(inner);
    const layered = Buffer.concat([
      Buffer.from('1 0 obj\n<< /Length 9 /Filter [/FlateDecode /FlateDecode] >>\nstream\n'),
      outer,
      Buffer.from('\nendstream\nendobj\n'),
    ]);
    await expect(checkPdfExpansion(layered, 16 * 1_048_576)).rejects.toBeInstanceOf(ExpansionError);
    expect(await checkPdfExpansion(layered, 64 * 1_048_576)).toBe(32 * 1_048_576);
    // Image data is never inflated to extract text: it does not count.
    const image = Buffer.concat([
      Buffer.from('1 0 obj\n<< /Type /XObject /Subtype /Image /Filter /FlateDecode >>\nstream\n'),
      inner,
      Buffer.from('\nendstream\nendobj\n'),
    ]);
    expect(await checkPdfExpansion(image, 1_048_576)).toBe(0);
  });
});

describe('files read once per thread', () => {
  it('downloads and parses a thread’s file once across two questions, and again in another thread', async () => {
    const parser = pool();
    let downloads = 0;
    const bytes = Buffer.from(BUDGET_CSV);
    const attached = {
      id: 'F1',
      name: 'budget.csv',
      size: bytes.length,
      async download() {
        downloads += 1;
        return Buffer.from(bytes);
      },
    };
    const seen: Question[] = [];
    const layer = new ConversationLayer({
      answerer: {
        async *answer(question: Question): AsyncIterable<AnswerEvent> {
          seen.push(question);
          yield {
            type: 'done',
            text: 'Answer.',
            mode: 'extractive',
            degraded: false,
            timings: { condenseMs: 0, retrievalMs: 0, firstTokenMs: 0, totalMs: 0 },
            standaloneQuestion: question.text,
          };
        },
      },
      log: silentLogger,
      dedupe: new MemoryDedupeStore(),
      maxQuestionChars: 2_000,
      parser,
    });
    const conversation = (threadId: string): Conversation => ({
      place: { platform: 'test', channelId: 'C1', threadId },
      asker: { id: 'U1' },
      presenter: { neutralizer: slackNeutralizer, plainText: slackPlainText, writeIntervalMs: 0 },
      history: async () => [],
      openReply: async () => ({
        writes: 'append',
        write: async () => undefined,
        finish: async () => undefined,
      }),
      notify: async () => undefined,
      attachments: async () => [attached],
    });
    await layer.ask(conversation('T1'), 'Who owns the venue?');
    await layer.ask(conversation('T1'), 'And the flights?');
    expect(downloads).toBe(1);
    expect(parser.counts.parsed).toBe(1);
    expect(seen.map((q) => q.attachments?.[0]?.text.includes('Lisbon offsite venue'))).toEqual([true, true]);
    await layer.ask(conversation('T2'), 'Who owns the venue?');
    expect(downloads).toBe(2);
    expect(parser.counts.parsed).toBe(2);
  });

  it('keeps the cache within its byte budget, least recently used out first, and forgets entries unused past the expiry', () => {
    let now = 0;
    const cache = new LruReadFileCache({ maxBytes: 1_000, ttlMs: 60_000, now: () => now });
    const text = (n: number) => ({ kind: 'text' as const, text: 'x'.repeat(n), truncated: false });
    cache.set('a', text(200));
    cache.set('b', text(200));
    expect(cache.get('a')).toBeDefined();
    cache.set('c', text(200));
    expect(cache.usedBytes).toBeLessThanOrEqual(1_000);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    now += 60_001;
    expect(cache.get('a')).toBeUndefined();
    cache.set('huge', text(10_000));
    expect(cache.get('huge')).toBeUndefined();
  });
});
