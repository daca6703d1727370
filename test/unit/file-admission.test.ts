/**
 * A question's files cost nothing until the question may be answered: the guards (rates, the
 * answer queue, shutdown) decide first and a refused question downloads none of its files; a
 * question whose files are being read is in flight for shutdown, and is interrupted, not
 * dropped; a budget stop is said with the budget that stopped it and is tried again on a
 * follow-up; a full parse queue is said, not waited out. Real parser processes throughout.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AttachedFile } from '../../src/conversation/attachments.js';
import type { Conversation } from '../../src/conversation/conversation.js';
import { ConversationLayer } from '../../src/conversation/layer.js';
import { failures } from '../../src/core/failures.js';
import type { AnswerEvent, Answerer, Question } from '../../src/core/types.js';
import { DEFAULT_PARSE_SETTINGS, ParsePool } from '../../src/ingest/parse-pool.js';
import { silentLogger } from '../../src/log.js';
import { DrainingAnswerer } from '../../src/ops/draining-answerer.js';
import { LimitedAnswerer } from '../../src/ops/limited-answerer.js';
import { MemoryDedupeStore, MemoryRateLimiter } from '../../src/ops/shared-state.js';
import { slackNeutralizer, slackPlainText } from '../../src/render/slack-text.js';
import { BUDGET_CSV } from '../support/files.js';
import { dressedBombPdf } from '../support/hostile-docs.js';

const pools: ParsePool[] = [];
afterAll(() => Promise.all(pools.map((pool) => pool.close())));
const pool = (settings: Partial<typeof DEFAULT_PARSE_SETTINGS> = {}) => {
  const created = new ParsePool({ ...DEFAULT_PARSE_SETTINGS, threads: 1, ...settings });
  pools.push(created);
  return created;
};

/** The core's stand-in: records the questions that reached it and answers each at once (an aborted one as the core does). */
function recordingCore(seen: Question[]): Answerer {
  return {
    async *answer(question: Question): AsyncIterable<AnswerEvent> {
      seen.push(question);
      if (question.signal?.aborted) {
        yield { type: 'failure', failure: failures.interrupted('') };
        return;
      }
      yield {
        type: 'done',
        text: 'Answer.',
        mode: 'extractive',
        degraded: false,
        timings: { condenseMs: 0, retrievalMs: 0, firstTokenMs: 0, totalMs: 0 },
        standaloneQuestion: question.text,
      };
    },
  };
}

/** A file that counts its downloads; `hold` keeps a download open until the signal aborts. */
function countedFile(id: string, content: Buffer, name = 'budget.csv', hold = false) {
  const file = {
    id,
    name,
    size: content.length,
    downloads: 0,
    async download(_max: number, signal?: AbortSignal) {
      file.downloads += 1;
      if (hold) {
        await new Promise((_resolve, reject) => {
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
      }
      return Buffer.from(content);
    },
  } satisfies AttachedFile & { downloads: number };
  return file;
}

interface Said {
  readonly notes: string[];
  readonly replies: { text: string; notice?: string }[];
}

function conversation(threadId: string, files: AttachedFile[], said: Said, user = 'U1'): Conversation {
  return {
    place: { platform: 'test', channelId: 'C1', threadId },
    asker: { id: user },
    presenter: { neutralizer: slackNeutralizer, plainText: slackPlainText, writeIntervalMs: 0 },
    history: async () => [],
    openReply: async () => ({
      writes: 'append',
      write: async () => undefined,
      finish: async (final) => {
        said.replies.push({ text: final.text, ...(final.notice ? { notice: final.notice } : {}) });
      },
    }),
    notify: async (text) => {
      said.notes.push(text);
    },
    attachments: async () => files,
  };
}

const layer = (answerer: Answerer, parser: ParsePool) =>
  new ConversationLayer({
    answerer,
    log: silentLogger,
    dedupe: new MemoryDedupeStore(),
    maxQuestionChars: 2_000,
    parser,
  });

describe('files and the guards', () => {
  it('downloads no file of a question over the rate limit: it gets the limit’s message instead', async () => {
    const seen: Question[] = [];
    const guarded = new DrainingAnswerer(
      new LimitedAnswerer(recordingCore(seen), new MemoryRateLimiter(), {
        userPerMinute: 2,
        channelPerMinute: 0,
        maxConcurrent: 2,
        maxQueued: 2,
      }),
    );
    const conversations = layer(guarded, pool());
    const said: Said = { notes: [], replies: [] };
    const files = [1, 2, 3].map((n) => countedFile(`F${n}`, Buffer.from(BUDGET_CSV)));
    for (const [n, file] of files.entries()) {
      await conversations.ask(conversation(`T${n}`, [file], said), 'Who owns the venue?');
    }
    expect(files.map((file) => file.downloads)).toEqual([1, 1, 0]);
    expect(seen).toHaveLength(2);
    expect(seen.every((question) => question.attachments?.[0]?.text.includes('Lisbon offsite venue'))).toBe(
      true,
    );
    expect(said.replies[2]?.notice).toMatch(/too many questions|slow down|try again/i);
  });

  it('counts a question whose file is being read as in flight, and interrupts it at the end of the grace period instead of dropping it', async () => {
    const seen: Question[] = [];
    const draining = new DrainingAnswerer(recordingCore(seen));
    const conversations = layer(draining, pool());
    const said: Said = { notes: [], replies: [] };
    const file = countedFile('F-slow', Buffer.from(BUDGET_CSV), 'budget.csv', true);
    const asked = conversations.ask(conversation('T-drain', [file], said), 'Who owns the venue?');
    while (file.downloads === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(draining.activeAnswers).toBe(1);
    const drained = await draining.drain(20);
    await asked;
    expect(drained).toEqual({ finished: false, interrupted: 1 });
    expect(draining.activeAnswers).toBe(0);
    // The asker is told; the core never answered from a half-read file.
    expect(said.replies).toHaveLength(1);
    expect(said.replies[0]?.notice).toMatch(/interrupted/i);
    expect(seen.every((question) => !question.attachments)).toBe(true);
  });

  it('says which budget stopped a file, and reads it again on a follow-up instead of remembering the stop', async () => {
    const seen: Question[] = [];
    const parser = pool({ memoryMB: 32 });
    const conversations = layer(recordingCore(seen), parser);
    const said: Said = { notes: [], replies: [] };
    const bomb = countedFile(
      'F-bomb',
      dressedBombPdf(
        {
          filter: 'escaped',
          imageSubtype: true,
          objInString: false,
          paddingBytes: 0,
          afterStream: ' \n',
          place: 'contents',
        },
        256,
      ),
      'report.pdf',
    );
    await conversations.ask(conversation('T-bomb', [bomb], said), 'What does the report say?');
    expect(said.notes[0]).toContain(
      '“report.pdf”: it is too large or complex to read (reading it needs more than the 32 MB of memory I allow for one file)',
    );
    await conversations.ask(conversation('T-bomb', [bomb], said), 'And the totals?');
    expect(bomb.downloads).toBe(2);
    expect(parser.counts.stopped).toBe(2);
  });

  it('tells a person their file was not read when too many files wait for a parser, and downloads none of it', async () => {
    const seen: Question[] = [];
    const parser = pool();
    const conversations = layer(recordingCore(seen), parser);
    const held = await parser.lease({ lane: 'people', key: 'test::someone-else' });
    // Three of this person's files already wait; a fourth is refused at once.
    const waiting = [1, 2, 3].map(() => parser.lease({ lane: 'people', key: 'test::U1' }));
    const said: Said = { notes: [], replies: [] };
    const file = countedFile('F-busy', Buffer.from(BUDGET_CSV));
    await conversations.ask(conversation('T-busy', [file], said), 'Who owns the venue?');
    expect(file.downloads).toBe(0);
    expect(said.notes[0]).toContain('too many files are being read right now');
    expect(said.replies[0]?.text).toBe('Answer.');
    held.release();
    for (const lease of waiting) (await lease).release();
  });
});
