import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import {
  type AttachedFile,
  type AttachmentLimits,
  attachmentTokenBudget,
  attachmentType,
  cleanFileName,
  readAttachments,
} from '../../src/conversation/attachments.js';
import type { Conversation } from '../../src/conversation/conversation.js';
import { DownloadError, downloadLimited } from '../../src/conversation/download.js';
import { buildAnswerPrompt, countTokens, formatPassage } from '../../src/core/prompt.js';
import { RagCore } from '../../src/core/rag-core.js';
import type { AnswerEvent, Passage, Question, Retriever } from '../../src/core/types.js';
import { ExtractiveGenerator } from '../../src/generators/extractive.js';
import { silentLogger } from '../../src/log.js';
import { isSlackFileHost } from '../../src/platforms/slack/files.js';
import { slackNeutralizer, slackPlainText } from '../../src/render/slack-text.js';
import { layerOver } from '../support/conversations.js';
import { BUDGET_CSV, PNG_BYTES, tinyPdf } from '../support/files.js';

const MB = 1024 * 1024;
const LIMITS: AttachmentLimits = { maxFileBytes: MB, maxTokens: 2_000, maxFiles: 10 };

/** A file as a front end would offer it, with its bytes in memory; counts its downloads. */
function file(name: string, content: string | Buffer, fields: Partial<AttachedFile> = {}) {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  const offered = {
    downloads: 0,
    name,
    size: bytes.length,
    async download(maxBytes: number) {
      offered.downloads += 1;
      if (bytes.length > maxBytes) throw new DownloadError('too_large', 'the file is over the size limit');
      return bytes;
    },
    ...fields,
  };
  return offered;
}

const read = async (files: AttachedFile[], limits = LIMITS) => {
  const { passages, notes } = await readAttachments(files, limits, {
    quote: slackPlainText,
    log: silentLogger,
  });
  return { passages, notes: notes.map((note) => note.text) };
};

describe('which attached files are read', () => {
  it('goes by the extension, then the MIME type, then the platform’s type word', () => {
    expect(attachmentType({ name: 'q3.CSV' })).toBe('.csv');
    expect(attachmentType({ name: 'server.log' })).toBe('.log');
    expect(attachmentType({ name: 'Untitled', mimeType: 'application/pdf' })).toBe('.pdf');
    expect(attachmentType({ name: 'script.py', mimeType: 'text/x-python' })).toBe('.txt');
    expect(attachmentType({ name: 'snippet', typeHint: 'markdown' })).toBe('.md');
    expect(attachmentType({ name: 'photo.png', mimeType: 'image/png' })).toBeUndefined();
    expect(attachmentType({ name: 'archive.zip' })).toBeUndefined();
  });

  it('keeps file names to one bounded line', () => {
    expect(cleanFileName('report\n<!here>.txt')).toBe('report <!here>.txt');
    expect(cleanFileName('x'.repeat(300))).toHaveLength(100);
    expect(cleanFileName('\n')).toBe('file');
    // Direction overrides and isolates would show this name as "invoiceexe.pdf".
    expect(cleanFileName('invoice\u202efdp.exe')).toBe('invoicefdp.exe');
    expect(cleanFileName('a\u2066b\u2069c\u0085d')).toBe('abc d');
  });
});

describe('reading attached files', () => {
  it('turns CSV, Markdown, JSON and PDF files into passages cited by file name', async () => {
    const records = JSON.stringify([{ id: 1, title: 'Venue', text: 'The venue is in Lisbon.', cost: 18400 }]);
    const { passages, notes } = await read([
      file('budget.csv', BUDGET_CSV),
      file('notes.md', '# Notes\n\nShip on Tuesdays.'),
      file('venues.json', records),
      file('settings.json', '{"retries": 3}'),
      file('release.pdf', tinyPdf('The rollback window is 30 minutes.')),
    ]);
    expect(notes).toEqual([]);
    expect(passages.map((p) => p.title)).toEqual([
      'budget.csv',
      'notes.md',
      'venues.json',
      'settings.json',
      'release.pdf',
    ]);
    expect(passages[0]).toMatchObject({ source: 'budget.csv (attached)', metadata: { attachment: true } });
    expect(passages[0]!.text).toContain('Lisbon offsite venue,Marta,18400');
    expect(passages[2]!.text).toBe('Venue\nThe venue is in Lisbon.\nid: 1\ncost: 18400');
    expect(passages[3]!.text).toBe('{"retries": 3}');
    expect(passages[4]!.text).toContain('The rollback window is 30 minutes.');
  });

  it('refuses unsupported and oversized files before downloading them, one note each', async () => {
    const image = file('screenshot.png', PNG_BYTES, { mimeType: 'image/png' });
    const big = file('dump.log', 'x', { size: 2 * MB });
    const { passages, notes } = await read([image, big, file('ok.txt', 'Fine text here.')]);
    expect(passages).toHaveLength(1);
    expect(notes).toEqual([
      "I can't read “screenshot.png”: I read text, Markdown, PDF, JSON, CSV, HTML and log files.",
      "I didn't read “dump.log”: it is over the 1 MB limit for attached files.",
    ]);
    expect(image.downloads + big.downloads).toBe(0);
  });

  it('notes a file that turns out larger than it claimed, a failed download, binary data and an empty file', async () => {
    const liar = file('small.txt', 'x'.repeat(MB + 1), { size: 10 });
    const gone = file('gone.txt', '', {
      download: async () => {
        throw new DownloadError('not_found', 'the file is gone (HTTP 404)');
      },
    });
    const { passages, notes } = await read([
      liar,
      gone,
      file('fake.txt', Buffer.from([0, 1, 2, 3, 0, 0, 0, 5])),
      file('blank.md', '   \n'),
    ]);
    expect(passages).toEqual([]);
    expect(notes).toHaveLength(4);
    expect(notes[0]).toBe("I didn't read “small.txt”: it is over the 1 MB limit for attached files.");
    expect(notes[1]).toBe(
      "I couldn't download “gone.txt” (the file is gone (HTTP 404)), so I answered without it.",
    );
    expect(notes[2]).toMatch(/^I couldn't read “fake\.txt”: not (UTF-8 )?text/);
    expect(notes[3]).toMatch(/“blank\.md” has no text I can read \(it is empty or blank\)/);
    for (const note of notes) expect(note).not.toContain('\n');
  });

  it('cuts what does not fit the token budget exactly as the core counts it, and says so', async () => {
    const long = 'The quarterly plan lists every offsite, venue and owner in detail. '.repeat(400);
    const limits = { ...LIMITS, maxTokens: 600 };
    const { passages, notes } = await read([file('plan.txt', long), file('later.txt', 'More text.')], limits);
    expect(passages).toHaveLength(1);
    const cost = countTokens(formatPassage(passages[0]!, 1));
    expect(cost).toBeLessThanOrEqual(600);
    expect(cost).toBeGreaterThan(550);
    expect(notes).toEqual([
      '“plan.txt” is longer than I can read for one question, so I used only its beginning.',
      'I skipped “later.txt”: the attached files together are longer than I can read for one question.',
    ]);
    // What was read always fits the answer's context ahead of retrieved passages.
    const prompt = buildAnswerPrompt('q', [], passages, { contextTokens: 1_200 });
    expect(prompt.passages[0]!.text).toBe(passages[0]!.text);
  });

  it('reads at most maxFiles files and says how many were left out', async () => {
    const files = Array.from({ length: 4 }, (_, i) => file(`f${i}.txt`, `File number ${i}.`));
    const { passages, notes } = await read(files, { ...LIMITS, maxFiles: 2 });
    expect(passages).toHaveLength(2);
    expect(notes).toEqual(['I read only 2 attached files per question; 2 more were left out.']);
  });

  it('echoes hostile file names inert', async () => {
    const { notes } = await read([file('<!channel> hi.exe', 'MZ')]);
    expect(notes[0]).toContain('&lt;!channel&gt; hi.exe');
    expect(notes[0]).not.toContain('<!channel>');
  });

  it('gives attachments at most half of the context budget', () => {
    expect(attachmentTokenBudget(3_000, 6_000)).toBe(3_000);
    expect(attachmentTokenBudget(3_000, 1_000)).toBe(500);
  });
});

describe('the core with attached files', () => {
  const nothing: Retriever = {
    description: 'empty',
    defaultMinScore: 0.5,
    search: async () => [],
  };
  const attached: Passage = {
    id: 'attachment-1',
    text: 'The Lisbon offsite venue costs 18400 EUR. Marta owns the venue booking.',
    score: 1,
    source: 'budget.csv (attached)',
    title: 'budget.csv',
    metadata: { attachment: true },
  };
  const core = new RagCore({
    retriever: nothing,
    generator: new ExtractiveGenerator(),
    options: {
      topK: 3,
      maxQuestionChars: 2_000,
      contextTokens: 2_000,
      maxAnswerTokens: 256,
      answerTimeoutMs: 5_000,
    },
  });
  const ask = async (attachments?: Passage[]) => {
    const events: AnswerEvent[] = [];
    for await (const event of core.answer({
      id: 'q',
      text: 'Who owns the venue booking?',
      place: { platform: 'test' },
      ...(attachments ? { attachments } : {}),
    }))
      events.push(event);
    return events;
  };

  it('answers from the file when the store has nothing, citing it by name', async () => {
    const events = await ask([attached]);
    const sources = events.find((e) => e.type === 'sources');
    expect(sources?.type === 'sources' && sources.sources.map((s) => s.title)).toEqual(['budget.csv']);
    const done = events.at(-1);
    expect(done?.type).toBe('done');
    expect(done?.type === 'done' && done.text).toContain('Marta owns the venue booking');
  });

  it('still refuses to guess when there is neither a file nor a passage', async () => {
    const end = (await ask()).at(-1);
    expect(end?.type === 'failure' && end.failure.kind).toBe('nothing_found');
  });

  it('places attached passages first, numbered before the retrieved ones', () => {
    const retrieved: Passage = {
      id: 'kb',
      text: 'From the knowledge base.',
      score: 0.9,
      source: 'kb.md',
      metadata: {},
    };
    const prompt = buildAnswerPrompt('q', [], [attached, retrieved], { contextTokens: 2_000 });
    const content = prompt.messages.at(-1)!.content;
    expect(content.indexOf('id="1" source="budget.csv (attached)"')).toBeGreaterThan(0);
    expect(content).toContain('id="2" source="kb.md"');
  });
});

describe('downloading an attached file', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/chunked') {
        // No content-length: the size is only known by counting.
        res.writeHead(200, { 'content-type': 'text/plain' });
        for (let i = 0; i < 64; i++) res.write(Buffer.alloc(16 * 1024, 97));
        res.end();
      } else if (req.url === '/ok') {
        res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8' }).end('a,b\n1,2');
      } else if (req.url === '/hang') {
        // Never answers: only the deadline ends the wait.
      } else {
        res.writeHead(Number(req.url?.slice(1)) || 500).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const get = (path: string, maxBytes = MB, timeoutMs = 5_000) =>
    downloadLimited({ url: `${base}${path}`, maxBytes, timeoutMs });
  const problem = (path: string, maxBytes?: number, timeoutMs?: number) =>
    get(path, maxBytes, timeoutMs).then(
      () => 'none',
      (error: unknown) => (error instanceof DownloadError ? error.problem : 'other'),
    );

  it('returns the bytes and the content type', async () => {
    const { data, contentType } = await get('/ok');
    expect(data.toString()).toBe('a,b\n1,2');
    expect(contentType).toBe('text/csv');
  });

  it('stops a transfer that streams past the limit, whatever was declared', async () => {
    expect(await problem('/chunked', 100 * 1024)).toBe('too_large');
    expect((await get('/chunked')).data.length).toBe(1024 * 1024);
  });

  it('names refusals, missing files, server errors and timeouts', async () => {
    expect(await problem('/401')).toBe('refused');
    expect(await problem('/403')).toBe('refused');
    expect(await problem('/404')).toBe('not_found');
    expect(await problem('/503')).toBe('failed');
    expect(await problem('/hang', MB, 100)).toBe('timeout');
  });
});

describe('Slack file downloads', () => {
  it('send the bot token only to Slack’s file host or the configured API host', () => {
    expect(isSlackFileHost('https://files.slack.com/files-pri/T1-F1/download/a.csv', undefined)).toBe(true);
    expect(isSlackFileHost('http://files.slack.com/files-pri/T1-F1/a.csv', undefined)).toBe(false);
    expect(isSlackFileHost('https://evil.example/files-pri/T1-F1/a.csv', undefined)).toBe(false);
    expect(isSlackFileHost('https://files.slack.com.evil.example/a.csv', undefined)).toBe(false);
    expect(isSlackFileHost('http://127.0.0.1:4000/files-pri/a', 'http://127.0.0.1:4000/api/')).toBe(true);
    expect(isSlackFileHost('http://127.0.0.1:4001/files-pri/a', 'http://127.0.0.1:4000/api/')).toBe(false);
    expect(isSlackFileHost('not a url', undefined)).toBe(false);
  });
});

describe('attachment settings', () => {
  it('default to 5 MB and 3,000 tokens, and reject nonsense', () => {
    expect(parseConfig({ RAG_DOTENV: 'off' }).attachments).toEqual({ maxFileMB: 5, maxTokens: 3_000 });
    expect(() => parseConfig({ ATTACHMENT_MAX_MB: '0' })).toThrow(/ATTACHMENT_MAX_MB must be at least 1/);
    expect(() => parseConfig({ ATTACHMENT_MAX_TOKENS: 'lots' })).toThrow(
      /ATTACHMENT_MAX_TOKENS must be a whole number/,
    );
  });
});

describe('the conversation layer with attached files', () => {
  /** Records the question the core was given and what the conversation showed. */
  function setup(attachments: Conversation['attachments']) {
    const seen: { question?: Question; notices: string[]; final?: string } = { notices: [] };
    const answerer = {
      async *answer(question: Question): AsyncIterable<AnswerEvent> {
        seen.question = question;
        yield { type: 'delta', text: 'Answer.' };
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
    const conversation: Conversation = {
      place: { platform: 'test', channelId: 'C1' },
      asker: { id: 'U1' },
      presenter: { neutralizer: slackNeutralizer, plainText: slackPlainText, writeIntervalMs: 0 },
      history: async () => [],
      openReply: async () => ({
        writes: 'append',
        write: async () => undefined,
        finish: async (final) => {
          seen.final = final.text;
        },
      }),
      notify: async (text) => {
        seen.notices.push(text);
      },
      ...(attachments ? { attachments } : {}),
    };
    return { seen, ask: () => layerOver(answerer).ask(conversation, 'What is in the file?') };
  }

  it('hands the files to the core as passages for this question, and notes the ones it skipped in one message', async () => {
    const { seen, ask } = setup(async () => [
      file('budget.csv', BUDGET_CSV),
      file('photo.png', PNG_BYTES, { mimeType: 'image/png' }),
    ]);
    await ask();
    expect(seen.question?.attachments?.map((p) => p.title)).toEqual(['budget.csv']);
    expect(seen.notices).toEqual([
      "I can't read “photo.png”: I read text, Markdown, PDF, JSON, CSV, HTML and log files.",
    ]);
    expect(seen.final).toBe('Answer.');
  });

  it('still answers, with a note, when the files cannot even be listed', async () => {
    const { seen, ask } = setup(async () => {
      throw new Error('conversations.replies failed');
    });
    await ask();
    expect(seen.notices).toEqual(["I couldn't get the attached files just now, so I answered without them."]);
    expect(seen.question?.attachments).toBeUndefined();
    expect(seen.final).toBe('Answer.');
  });

  it('changes nothing for a conversation without files', async () => {
    const { seen, ask } = setup(undefined);
    await ask();
    expect(seen.notices).toEqual([]);
    expect(seen.question?.attachments).toBeUndefined();
  });
});
