/**
 * The web chat as `npm run web` builds it, on loopback: the real core over the embedded local
 * store (seeded from a small knowledge folder whose documents have links) and the Groq fake,
 * served by the real HTTP server. The answerer is observed, not replaced: every question and
 * history it receives is recorded, its signal can be checked, and an answer can be held after
 * its first words so a test can look at the page mid-stream.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRuntime } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config.js';
import type { AnswerEvent, Answerer, Question, Turn } from '../../src/core/types.js';
import { startHttpServer } from '../../src/http/server.js';
import { createWebChat, type WebChatOptions } from '../../src/web/index.js';
import { type FakeGroq, startFakeGroq } from '../fakes/groq/index.js';
import { layerOver } from '../support/conversations.js';
import { captureLogs } from '../support/logs.js';

/** Documents with front matter links, so sources in the page are links. */
const DOCUMENTS: Record<string, string> = {
  'vacation.md': `---
url: https://docs.example.com/hr/vacation
---
# Vacation policy

Employees get 25 vacation days per year. Unused days carry over until the end of March.
Book vacation in the HR portal at least two weeks ahead.
`,
  'expenses.md': `---
url: https://docs.example.com/finance/expenses
---
# Expense reports

Submit expense reports within 30 days with a photo of every receipt. Travel needs a manager's
approval before booking.
`,
  'laptops.md': `---
url: https://docs.example.com/it/laptops
---
# Laptops

New laptops are ordered through the IT desk and arrive within five working days. Lost laptops
must be reported to security at once.
`,
};

export interface ObservedCall {
  readonly question: Question;
  readonly history: readonly Turn[];
  readonly events: AnswerEvent[];
  /** The event that ended the stream, once it ended. */
  last?: AnswerEvent;
}

/** Wraps the real answerer: records what it was asked and can hold an answer after its first delta. */
export class ObservedAnswerer implements Answerer {
  readonly calls: ObservedCall[] = [];
  private hold: { promise: Promise<void>; release: () => void } | undefined;

  constructor(private readonly inner: Answerer) {}

  /** The next answers pause after their first delta until the returned function is called. */
  holdAfterFirstDelta(): () => void {
    let release!: () => void;
    const promise = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.hold = { promise, release };
    return () => {
      this.hold = undefined;
      release();
    };
  }

  async *answer(question: Question, history: readonly Turn[] = []): AsyncGenerator<AnswerEvent> {
    const call: ObservedCall = { question, history, events: [] };
    this.calls.push(call);
    let deltas = 0;
    for await (const event of this.inner.answer(question, history)) {
      call.events.push(event);
      if (event.type === 'done' || event.type === 'failure') call.last = event;
      yield event;
      if (event.type === 'delta' && ++deltas === 1 && this.hold) await this.hold.promise;
    }
  }
}

export interface WebFixture {
  readonly url: string;
  readonly port: number;
  readonly groq: FakeGroq;
  readonly answerer: ObservedAnswerer;
  readonly logLines: string[];
  close(): Promise<void>;
}

export interface WebFixtureOptions {
  readonly chat?: Omit<Partial<WebChatOptions>, 'conversations'>;
  /** Delay between the fake model's tokens, so answers stream in visible pieces. */
  readonly tokenDelayMs?: number;
}

export async function startWebFixture(options: WebFixtureOptions = {}): Promise<WebFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'rag-web-'));
  const knowledgeDir = join(dir, 'knowledge');
  await mkdir(knowledgeDir);
  for (const [name, text] of Object.entries(DOCUMENTS)) await writeFile(join(knowledgeDir, name), text);
  const groq = await startFakeGroq(options.tokenDelayMs ? { tokenDelayMs: options.tokenDelayMs } : {});
  const config = parseConfig({
    GROQ_API_KEY: groq.apiKey,
    GROQ_BASE_URL: groq.baseURL,
    GROQ_MAX_RETRIES: '0',
    GROQ_RETRY_BUDGET_MS: '0',
    RAG_DATA_DIR: join(dir, 'data'),
    RAG_KNOWLEDGE_DIR: knowledgeDir,
  });
  const { logger, lines } = captureLogs();
  const runtime = await buildRuntime(config, { logger });
  const answerer = new ObservedAnswerer(runtime.answerer);
  const chat = createWebChat({ ...options.chat, conversations: layerOver(answerer, { logger }), logger });
  const server: Server = await startHttpServer(0, chat.routes);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    groq,
    answerer,
    logLines: lines,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await groq.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The JSON log lines that record a feedback vote. */
export function feedbackLogs(lines: readonly string[]): Array<Record<string, unknown>> {
  return lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.event === 'feedback');
}
