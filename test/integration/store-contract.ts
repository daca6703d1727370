/** The behaviour every KnowledgeStore must have, run against each implementation. */
import { describe, expect, it } from 'vitest';
import type { Chunk, KnowledgeStore } from '../../src/core/types.js';

export const contractChunks: Chunk[] = [
  {
    id: 'setup-slack',
    text: 'To add the bot to Slack, create an app from the manifest and install it to your workspace.',
    source: 'knowledge/slack.md',
    title: 'Slack setup',
    url: 'https://docs.example.com/slack',
    metadata: { section: 'Slack' },
  },
  {
    id: 'setup-discord',
    text: 'To add the bot to Discord, create an application in the developer portal and invite the bot.',
    source: 'knowledge/discord.md',
    title: 'Discord setup',
    metadata: { section: 'Discord' },
  },
  {
    id: 'food-1',
    text: 'Kimchi is fermented napa cabbage seasoned with chili, garlic and ginger.',
    source: 'knowledge/foods.json',
    title: 'foods.json #1',
    metadata: { region: 'Korea', type: 'Side dish' },
  },
];

export function describeKnowledgeStoreContract(name: string, open: () => Promise<KnowledgeStore>): void {
  describe(`${name} as a knowledge store`, () => {
    it('returns the matching passage first with its text, citation fields and metadata', async () => {
      const store = await open();
      await store.upsert(contractChunks);
      const [best] = await store.search('how do I add the bot to slack', { topK: 3 });
      expect(best?.id).toBe('setup-slack');
      expect(best?.text).toBe(contractChunks[0]!.text);
      expect(best?.source).toBe('knowledge/slack.md');
      expect(best?.title).toBe('Slack setup');
      expect(best?.url).toBe('https://docs.example.com/slack');
      expect(best?.metadata.section).toBe('Slack');
      expect(best!.score).toBeGreaterThanOrEqual(store.defaultMinScore);
      const [food] = await store.search('fermented cabbage with chili', { topK: 1 });
      expect(food?.metadata.region).toBe('Korea');
    });

    it('scores an unrelated question below its own relevance floor', async () => {
      const store = await open();
      await store.upsert(contractChunks);
      const results = await store.search('quantum chromodynamics lattice gauge', { topK: 3 });
      expect(results.every((passage) => passage.score < store.defaultMinScore)).toBe(true);
    });

    it('treats re-upserting the same ids as a no-op, and lists ids with their sources', async () => {
      const store = await open();
      await store.upsert(contractChunks);
      await store.upsert(contractChunks);
      expect((await store.stats()).vectorCount).toBe(3);
      const ids = await store.listIds();
      expect(ids.get('food-1')).toBe('knowledge/foods.json');
      expect(ids.size).toBe(3);
    });

    it('deletes by id and resets to empty', async () => {
      const store = await open();
      await store.upsert(contractChunks);
      await store.delete(['setup-discord']);
      expect([...(await store.listIds()).keys()].sort()).toEqual(['food-1', 'setup-slack']);
      await store.reset();
      expect((await store.stats()).vectorCount).toBe(0);
      expect(await store.search('slack', { topK: 3 })).toEqual([]);
    });
  });
}
