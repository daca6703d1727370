import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { knowledgeOverview } from '../../src/conversation/knowledge-overview.js';
import { PrivateAnswers } from '../../src/conversation/private-answers.js';
import { homeView } from '../../src/platforms/slack/handlers/app-home.js';
import { threadTitle } from '../../src/platforms/slack/handlers/assistant-thread.js';
import {
  DEFAULT_SUGGESTED_PROMPTS,
  parseSuggestedPrompts,
} from '../../src/platforms/slack/suggested-prompts.js';
import { LocalStore } from '../../src/stores/local/index.js';

describe('SLACK_SUGGESTED_PROMPTS', () => {
  it('reads "title|message" pairs separated by semicolons, trimming space', () => {
    expect(parseSuggestedPrompts(' Setup | How do I add the bot? ; Deploy|How do I deploy?; ')).toEqual([
      { title: 'Setup', message: 'How do I add the bot?' },
      { title: 'Deploy', message: 'How do I deploy?' },
    ]);
  });

  it('keeps the defaults when unset', () => {
    expect(parseSuggestedPrompts(undefined)).toBe(DEFAULT_SUGGESTED_PROMPTS);
    expect(
      parseConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' }).slack?.suggestedPrompts,
    ).toBe(DEFAULT_SUGGESTED_PROMPTS);
  });

  it('reports every malformed entry and too many prompts at once, with the variable named', () => {
    expect(() =>
      parseConfig({
        SLACK_BOT_TOKEN: 'xoxb-1',
        SLACK_SIGNING_SECRET: 's',
        SLACK_SUGGESTED_PROMPTS: 'a|b;no separator;|no title;c|d;e|f',
      }),
    ).toThrow(/SLACK_SUGGESTED_PROMPTS.*entry 2.*entry 3.*at most 4/s);
  });
});

describe('private answers kept for sharing', () => {
  const answer = (askerId = 'U1') => ({
    question: 'q',
    text: 'a',
    sources: [],
    askerId,
    target: { channel: 'C1', threadTs: '1.1' },
  });

  it('shares once, only for the asker, and again after a failed post is released', () => {
    const answers = new PrivateAnswers<{ channel: string; threadTs: string }>();
    const id = answers.remember(answer());
    expect(answers.claim(id, 'U2')).toEqual({ ok: false, reason: 'not_asker' });
    expect(answers.claim(id, 'U1').ok).toBe(true);
    expect(answers.claim(id, 'U1')).toEqual({ ok: false, reason: 'already_shared' });
    answers.release(id);
    expect(answers.claim(id, 'U1').ok).toBe(true);
  });

  it('forgets answers after the time to live and beyond its capacity', () => {
    let now = 0;
    const answers = new PrivateAnswers<{ channel: string; threadTs: string }>({
      ttlMs: 1_000,
      capacity: 2,
      now: () => now,
    });
    const old = answers.remember(answer());
    now = 1_500;
    expect(answers.claim(old, 'U1')).toEqual({ ok: false, reason: 'unknown' });
    const [a, b, c] = [answers.remember(answer()), answers.remember(answer()), answers.remember(answer())];
    expect(answers.claim(a, 'U1')).toEqual({ ok: false, reason: 'unknown' });
    expect(answers.claim(b, 'U1').ok).toBe(true);
    expect(answers.claim(c, 'U1').ok).toBe(true);
  });
});

describe('knowledge overview', () => {
  const chunk = (id: string, source: string) => ({
    id,
    text: `Passage ${id} about widgets.`,
    source,
    metadata: {},
  });

  async function storeWithTwoCollections() {
    const dir = await mkdtemp(join(tmpdir(), 'rag-overview-'));
    const store = await LocalStore.open({ dir });
    await store.collection('default').upsert([chunk('1', 'a.md'), chunk('2', 'b.md'), chunk('3', 'b.md')]);
    await store.collection('hr-private').upsert([chunk('4', 'salaries.md')]);
    let reads = 0;
    // Counts the scans the overview makes; everything else is the real store.
    const counted = {
      collection: (name: string) => {
        reads += 1;
        return store.collection(name);
      },
    };
    return { dir, store, counted, reads: () => reads };
  }

  it('shows a place only its own collections, sources most first, and scans once per minute', async () => {
    const { dir, store, counted, reads } = await storeWithTwoCollections();
    try {
      let now = 0;
      const read = knowledgeOverview(counted, {
        now: () => now,
        collectionsFor: async (place) => (place.channelId === 'CHR' ? ['hr-private'] : ['default']),
      });
      const general = await read({ platform: 'slack', channelId: 'CGENERAL' });
      expect(general).toEqual({
        passages: 3,
        sources: [
          { name: 'b.md', passages: 2 },
          { name: 'a.md', passages: 1 },
        ],
        collections: [],
      });
      expect(JSON.stringify(general)).not.toContain('salaries');
      expect((await read({ platform: 'slack', channelId: 'CHR' })).sources).toEqual([
        { name: 'salaries.md', passages: 1 },
      ]);
      const scans = reads();
      await read({ platform: 'slack', channelId: 'CGENERAL' });
      expect(reads()).toBe(scans);
      now = 61_000;
      await read({ platform: 'slack', channelId: 'CGENERAL' });
      expect(reads()).toBe(scans + 1);
    } finally {
      store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('does not cache a failed read', async () => {
    let calls = 0;
    const failing = {
      collection: () => {
        calls += 1;
        throw new Error('store down');
      },
    } as unknown as Parameters<typeof knowledgeOverview>[0];
    const read = knowledgeOverview(failing, { now: () => 0 });
    const place = { platform: 'slack', channelId: 'C1' };
    await expect(read(place)).rejects.toThrow('store down');
    await expect(read(place)).rejects.toThrow('store down');
    expect(calls).toBe(2);
  });
});

describe('Slack Home tab and assistant titles', () => {
  it('lists sources as inert text and says so when the store cannot be read', () => {
    const view = JSON.stringify(
      homeView({ passages: 2, sources: [{ name: '<!channel> notes.md', passages: 2 }], collections: [] }),
    );
    expect(view).not.toContain('<!channel>');
    expect(view).toContain('notes.md');
    expect(JSON.stringify(homeView('unavailable'))).toContain('could not read the knowledge base');
    expect(JSON.stringify(homeView({ passages: 0, sources: [], collections: [] }))).toContain(
      'npm run ingest',
    );
  });

  it('titles a thread with the question on one line, cut on a whole character', () => {
    expect(threadTitle('How do I\n  add the bot?')).toBe('How do I add the bot?');
    const long = threadTitle(`${'word '.repeat(40)}😀😀`);
    expect(long.length).toBeLessThanOrEqual(80);
    expect(long.endsWith('…')).toBe(true);
  });
});
