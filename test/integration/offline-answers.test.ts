import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RagCore } from '../../src/core/rag-core.js';
import type { AnswerEvent, Passage, Turn } from '../../src/core/types.js';
import { ExtractiveGenerator } from '../../src/generators/extractive.js';
import { rewriteFollowUp } from '../../src/generators/follow-up.js';
import { ingestPaths } from '../../src/ingest/pipeline.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { offlineAnswer } from '../support/offline-answer.js';

const generate = (
  question: string,
  passages: Passage[],
  history: Turn[] = [],
  purpose: 'answer' | 'condense' = 'answer',
) => offlineAnswer(question, passages, { history, purpose });

const passage = (id: string, text: string): Passage => ({
  id,
  text,
  source: `${id}.md`,
  score: 1,
  metadata: {},
});

describe('the offline answer', () => {
  it('quotes the sentence that answers the question first, even from a lower-ranked passage', async () => {
    const text = await generate('How long are invoices kept?', [
      passage(
        'billing',
        'Billing runs on the first day of each month. Invoices are emailed to the account owner. Refunds take a week.',
      ),
      passage(
        'retention',
        'Retention rules differ by record type. Invoices are kept for seven years, then deleted.',
      ),
    ]);
    const quotes = text.split('\n').filter((line) => line.startsWith('- '));
    expect(quotes[0]).toBe('- Invoices are kept for seven years, then deleted. [2]');
  });
});

describe('the offline answer to records found by their metadata', () => {
  it('opens with each record when no sentence holds the question words', async () => {
    const text = await generate('What foods come from Japan?', [
      {
        ...passage('sushi', 'Sushi pairs vinegared rice with fish. It is often wrapped in nori.'),
        metadata: { region: 'Japan' },
      },
      { ...passage('ramen', 'Ramen is a noodle soup. Toppings vary.'), metadata: { region: 'Japan' } },
    ]);
    expect(text).toContain('- Sushi pairs vinegared rice with fish. [1]\n- Ramen is a noodle soup. [2]');
  });
});

describe('offline follow-ups', () => {
  it('rewrites a pronoun with what the previous question was about, dropping its verb', () => {
    expect(rewriteFollowUp('and how do I remove it?', 'How do I add the bot to Slack?')).toBe(
      'how do I remove the bot to Slack',
    );
  });

  it('swaps the name in "what about …" and keeps a self-contained follow-up as asked', () => {
    expect(rewriteFollowUp('What about Discord?', 'How do I add the bot to Slack?')).toBe(
      'How do I add the bot to Discord',
    );
    expect(rewriteFollowUp('And where are the logs written?', 'How do I deploy with Docker?')).toBe(
      'where are the logs written',
    );
    expect(rewriteFollowUp('why?', 'How do I deploy with Docker?')).toBe('How do I deploy with Docker why');
  });

  it('keeps a one-word follow-up with the names the previous question was about, not its other words', () => {
    expect(rewriteFollowUp('and where are the metrics?', 'What port does the bot listen on?')).toBe(
      'where are the metrics',
    );
    expect(rewriteFollowUp('and the retries?', 'How does prom-client push to a Sentinel group?')).toBe(
      'the retries prom-client Sentinel',
    );
  });

  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it('answers "and how do I remove it?" from the removal page, not the setup steps again', async () => {
    const docs = await mkdtemp(join(tmpdir(), 'rag-offline-docs-'));
    const data = await mkdtemp(join(tmpdir(), 'rag-offline-data-'));
    dirs.push(docs, data);
    await writeFile(
      join(docs, 'slack-setup.md'),
      '# Adding the bot to Slack\n\nTo add the bot to Slack, create an app from the manifest, install it to your workspace and invite the bot to a channel.',
    );
    await writeFile(
      join(docs, 'slack-removal.md'),
      '# Removing the bot from Slack\n\nTo remove the bot, open the app settings in Slack and choose Remove App; its tokens stop working at once.',
    );
    const store = await LocalStore.open({ dir: data });
    await ingestPaths(store, [docs], { cwd: docs });
    const core = new RagCore({
      retriever: store,
      generator: new ExtractiveGenerator(),
      options: {
        topK: 1,
        maxQuestionChars: 2_000,
        contextTokens: 3_000,
        maxAnswerTokens: 500,
        answerTimeoutMs: 30_000,
      },
    });
    const history: Turn[] = [
      { role: 'user', text: 'How do I add the bot to Slack?' },
      { role: 'assistant', text: 'Create an app from the manifest and install it.' },
    ];
    const events: AnswerEvent[] = [];
    for await (const event of core.answer(
      { id: 'f', text: 'and how do I remove it?', place: { platform: 'terminal' } },
      history,
    ))
      events.push(event);
    const sources = events.find((event) => event.type === 'sources');
    expect(sources?.type === 'sources' && sources.sources[0]?.source).toBe('slack-removal.md');
    const done = events.at(-1);
    expect(done?.type === 'done' && done.text).toContain('choose Remove App');
    store.close();
  });
});
