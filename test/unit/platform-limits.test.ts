/**
 * What the bot builds for Slack and Discord stays within their documented sizes whatever the
 * knowledge holds: a Slack section's 3,000 characters, a Discord embed description's 4,096.
 */
import { describe, expect, it } from 'vitest';
import type { Source } from '../../src/core/types.js';
import { sourcesEmbed } from '../../src/platforms/discord/format.js';
import { knowledgeBlocks } from '../../src/platforms/slack/handlers/app-home.js';
import { modalMetadata } from '../../src/platforms/slack/handlers/ask-about-message.js';

const source = (fields: Partial<Source>): Source => ({
  index: 1,
  passageId: 'p1',
  title: 'Runbook',
  source: 'runbook.md',
  score: 1,
  snippet: 'Deploy on Tuesdays.',
  ...fields,
});

describe('Slack App Home', () => {
  it('keeps each section within 3,000 characters, however many collections', () => {
    const collections = Array.from({ length: 40 }, (_, i) => ({
      name: `collection-${i}-${'x'.repeat(70)}`,
      description: 'd'.repeat(200),
    }));
    const blocks = knowledgeBlocks({ passages: 10, sources: [{ name: 'a.md', passages: 10 }], collections });
    for (const block of blocks) {
      const text = (block as { text?: { text: string } }).text?.text ?? '';
      expect(text.length).toBeLessThanOrEqual(3_000);
    }
    expect(JSON.stringify(blocks)).toContain('32 more');
  });
});

describe('Discord sources embed', () => {
  it('never has an empty or overlong description: a huge link or many sections', () => {
    const huge = sourcesEmbed([source({ url: `https://docs.example.com/${'a'.repeat(5_000)}` })]);
    expect(huge === undefined || (huge.description ?? '').length > 0).toBe(true);
    const passages = Array.from({ length: 60 }, (_, i) => ({
      passageId: `p${i}`,
      snippet: 'Deploy on Tuesdays.',
      section: `Section ${i} ${'s'.repeat(70)}`,
    }));
    const many = sourcesEmbed([source({ passages })]);
    expect(many?.description?.length ?? 0).toBeGreaterThan(0);
    expect(many?.description?.length ?? 0).toBeLessThanOrEqual(4_096);
  });
});

describe("Slack's Ask about this message modal", () => {
  it('keeps its private_metadata within 3,000 characters, escaping and all', () => {
    for (const piece of ['"', '\n', '\u0001', 'é', 'a']) {
      const about = {
        channel: 'C0123',
        messageTs: '1700000000.000100',
        responseUrl: 'https://hooks.slack.com/app/T0/1/abc',
        text: piece.repeat(1_500),
      };
      const json = modalMetadata(about);
      expect(json.length).toBeLessThanOrEqual(3_000);
      expect(JSON.parse(json)).toMatchObject({ channel: 'C0123', messageTs: '1700000000.000100' });
    }
  });
});
