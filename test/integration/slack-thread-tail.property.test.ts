/**
 * The newest replies of a Slack thread before a question, over generated threads (fast-check):
 * whatever their length, pace (bursts, quiet days) and Slack's page size, the replies kept are
 * the ones just before the question, without a gap and never after it, in at most 3 calls.
 * Read with the real @slack/web-api client from the Slack fake, which pages and ranges
 * conversations.replies as Slack does.
 */
import { WebClient } from '@slack/web-api';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { threadTail } from '../../src/platforms/slack/thread-pages.js';
import { type FakeSlack, startFakeSlack } from '../fakes/slack/index.js';

let slack: FakeSlack;
let client: WebClient;
let threads = 0;

beforeAll(async () => {
  slack = await startFakeSlack();
  client = new WebClient(slack.token, { slackApiUrl: slack.apiURL });
});
afterAll(async () => {
  await slack.close();
});

/** Seconds before each reply (the fake adds one more): mostly steady, with bursts and quiet spells. */
const pause = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 30 }) },
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.integer({ min: 3_600, max: 5 * 86_400 }) },
);
/** A thread as stretches of replies, each at its own pace. */
const thread = fc.array(fc.record({ replies: fc.integer({ min: 1, max: 400 }), pause }), {
  minLength: 1,
  maxLength: 6,
});

it('keeps the newest replies before the question, contiguous, in at most 3 calls', async () => {
  await fc.assert(
    fc.asyncProperty(
      thread,
      fc.constantFrom(15, 100, 1_000),
      fc.double({ min: 0, max: 1, noNaN: true }),
      async (stretches, cap, where) => {
        const ch = `C0PROP${++threads}`;
        const root = slack.addUserMessage(ch, 'U1', 'the question that started it');
        const replies: string[] = [];
        for (const stretch of stretches) {
          for (let i = 0; i < stretch.replies; i++) {
            slack.passTime(stretch.pause);
            replies.push(slack.addUserMessage(ch, 'U2', `reply ${replies.length}`, root));
          }
        }
        const question = Math.min(replies.length - 1, Math.floor(where * replies.length));
        slack.capRepliesPage(cap);
        const before = slack.callsTo('conversations.replies').length;
        const tail = await threadTail<{ ts?: string; text?: string }>(client, {
          channel: ch,
          ts: root,
          latest: replies[question]!,
          limit: 100,
          maxPages: 3,
          wanted: 40,
        });
        expect(slack.callsTo('conversations.replies').length - before).toBeLessThanOrEqual(3);
        expect(tail.parent?.ts).toBe(root);
        const got = tail.replies.map((message) => message.ts);
        expect(got.length).toBeGreaterThan(0);
        expect(got).toEqual(replies.slice(question + 1 - got.length, question + 1));
      },
    ),
    { numRuns: 60 },
  );
  slack.capRepliesPage(1_000);
}, 120_000);
