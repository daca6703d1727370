/**
 * Saving a thread as knowledge (src/knowledge/save-thread.ts) into the embedded store: its
 * people's text is chunked in the parse pool, within its budgets, like every fetched document.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TooLargeError } from '../../src/ingest/files.js';
import { DEFAULT_PARSE_SETTINGS, ParsePool } from '../../src/ingest/parse-pool.js';
import { saveThreadAsKnowledge } from '../../src/knowledge/save-thread.js';
import { saveFailureMessage } from '../../src/knowledge/service.js';
import { LocalStore } from '../../src/stores/local/index.js';

let dir: string;
let store: LocalStore;
const pool = new ParsePool({ ...DEFAULT_PARSE_SETTINGS, threads: 1, maxChars: 20_000 });
const PERMALINK = 'https://acme.slack.com/archives/C01/p1700000000000100';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rag-save-thread-'));
  store = await LocalStore.open({ dir });
});
afterAll(async () => {
  store.close();
  await pool.close();
  await rm(dir, { recursive: true, force: true });
});

describe('saving a thread', () => {
  it('stores the thread cited by its permalink, chunked in the parse pool', async () => {
    const saved = await saveThreadAsKnowledge(
      store,
      {
        collection: 'support',
        permalink: PERMALINK,
        messages: [
          { role: 'question', text: 'How do I reset the flangewidget?' },
          { role: 'human', text: 'Hold the blue button for ten seconds, then release.' },
        ],
      },
      pool,
    );
    expect(saved).toMatchObject({
      collection: 'support',
      messages: 2,
      title: 'Saved thread: How do I reset the flangewidget?',
    });
    const [hit] = await store.search('reset flangewidget blue button', { topK: 1, collections: ['support'] });
    expect(hit?.url).toBe(PERMALINK);
    expect(hit?.text).toContain('Hold the blue button');
  });

  it('refuses a thread past PARSE_MAX_CHARS with a message saying so, storing nothing of it', async () => {
    const long = `${'The torque spec is listed in the appendix. '.repeat(60)}\n`;
    const permalink = `${PERMALINK}-long`;
    const attempt = saveThreadAsKnowledge(
      store,
      {
        collection: 'support',
        permalink,
        messages: Array.from({ length: 100 }, (_, i) => ({
          role: i === 0 ? ('question' as const) : ('human' as const),
          text: long,
        })),
      },
      pool,
    );
    await expect(attempt).rejects.toBeInstanceOf(TooLargeError);
    const error = await attempt.catch((problem: unknown) => problem);
    expect(saveFailureMessage(error)).toMatch(
      /too large to save as knowledge \(more than 20,000 characters of text\)/,
    );
    const ids = await store.collection('support').listIds();
    expect([...ids.values()].filter((source) => source === permalink)).toEqual([]);
  });
});
