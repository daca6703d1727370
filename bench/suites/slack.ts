/**
 * Slack: a signed app_mention event into Bolt's real HTTP receiver → the first answer text
 * reaching the Slack Web API fake, at 1, 10 and 100 concurrent threads. Groq and Upstash
 * fakes run in their own process with injected latency; overhead is measured against the
 * bare-HTTP baseline at the same concurrency. Target: overhead ≤ 10 ms p50.
 *
 * Also the Web API calls one channel answer costs, answer record included, for a short answer
 * and one streamed over 0.6 s, beside Slack's own ChatStreamer helper (what Vercel's Chat SDK
 * streams with) fed the same text at the same pace. Targets: 2 and at most 3.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { WebClient } from '@slack/web-api';
import type { AnswerEvent, Answerer } from '../../src/core/types.js';
import { silentLogger } from '../../src/log.js';
import { MemoryDedupeStore } from '../../src/ops/shared-state.js';
import { createSlackAdapter } from '../../src/platforms/slack/index.js';
import { StoreRecorder } from '../../src/records/recorder.js';
import { RecordStore } from '../../src/records/store.js';
import { openAppDatabase } from '../../src/state/app-db.js';
import { eventEnvelope, type FakeSlack, sendToBolt, startFakeSlack } from '../../test/fakes/slack/index.js';
import { layerOver } from '../../test/support/conversations.js';
import { bareRoundTrip } from '../baseline.js';
import { startRemoteFakes } from '../fakes-process.js';
import { measureOverhead } from '../measure.js';
import { coreOverFakes } from '../remote-core.js';
import { ms } from '../stats.js';
import type { BenchRow, BenchSuite } from '../types.js';

const SECRET = 'bench-signing-secret';

/** How an answer's text arrives: pieces, each at a time (ms) after the first. */
type Pace = readonly (readonly [string, number])[];

const SHORT: Pace = [
  ['Create the app from the manifest in commands/, then install it to your workspace [1].', 0],
];
/** About 600 characters in 60 pieces, one every 10 ms: a model writing for 0.6 s. */
const STREAMED: Pace = Array.from(
  { length: 60 },
  (_, i) => [`${i === 0 ? 'Create' : ' and'} step ${String(i).padStart(2, '0')}`, i * 10] as const,
);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `at` ms after `start` (on schedule, however late earlier timers fired). */
const until = (start: number, at: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, start + at - performance.now())));

/** Answers with `pace`, as the core would: sources, then the text piece by piece, then done. */
function pacedAnswerer(pace: () => Pace): Answerer {
  return {
    async *answer(): AsyncGenerator<AnswerEvent> {
      yield {
        type: 'sources',
        sources: [
          {
            index: 1,
            passageId: 'p',
            title: 'Slack setup',
            source: 'knowledge/slack-setup.md',
            score: 1,
            snippet: '',
          },
        ],
      };
      let text = '';
      const start = performance.now();
      for (const [piece, at] of pace()) {
        if (at) await until(start, at);
        text += piece;
        yield { type: 'delta', text: piece };
      }
      yield {
        type: 'done',
        text,
        mode: 'groq',
        degraded: false,
        standaloneQuestion: 'q',
        timings: { condenseMs: 0, retrievalMs: 1, firstTokenMs: 1, totalMs: 1 },
      };
    },
  };
}

const methodsIn = (slack: FakeSlack, channel: string) =>
  slack.calls
    .filter((c) => c.args.channel === channel || c.args.channel_id === channel)
    .map((c) => c.method.replace('chat.', '').replace('assistant.threads.', ''));

/** Web API calls of one channel answer by this bot (its record's link included) and by ChatStreamer. */
async function callCounts(): Promise<BenchRow[]> {
  const slack = await startFakeSlack();
  const dataDir = await mkdtemp(join(tmpdir(), 'rag-bench-slack-calls-'));
  const appDb = openAppDatabase(dataDir);
  const records = new RecordStore(appDb, Buffer.alloc(32, 3));
  const recorder = new StoreRecorder(records, { keepText: false, log: silentLogger });
  let pace: Pace = SHORT;
  const adapter = createSlackAdapter({
    config: { botToken: slack.token, signingSecret: SECRET, apiURL: slack.apiURL, allowedChannels: [] },
    port: 0,
    conversations: layerOver(
      pacedAnswerer(() => pace),
      { recorder },
    ),
  });
  await adapter.start();
  const client = new WebClient(slack.token, { slackApiUrl: slack.apiURL });
  const ours: string[][] = [];
  const peer: string[][] = [];
  let firstInChannel: string[] = [];
  /** Mentions the bot in `channel` and returns the calls its answer (and record) made. */
  const answerIn = async (channel: string): Promise<string[]> => {
    const before = methodsIn(slack, channel).length;
    const text = '<@UBOT> How do I add the bot to Slack?';
    const ts = slack.addUserMessage(channel, 'U1', text);
    const ended = new Promise<void>((resolve) => {
      const off = slack.onCall((call) => {
        if (call.method === 'chat.stopStream' && call.args.channel === channel) {
          off();
          resolve();
        }
      });
    });
    await sendToBolt(
      `http://127.0.0.1:${adapter.port}/slack/events`,
      eventEnvelope({ type: 'app_mention', user: 'U1', text, ts, channel }),
      'application/json',
      { secret: SECRET },
    );
    await ended;
    // The record is written once the answer's last call returns; then its look-ups run.
    const link = slack.permalink(channel, ts);
    while (!(await records.answers(0, Date.now() + 60_000)).some((answer) => answer.link === link))
      await sleep(5);
    await recorder.settled();
    return methodsIn(slack, channel).slice(before);
  };
  try {
    for (const [i, answer] of [SHORT, STREAMED].entries()) {
      pace = answer;
      const channel = `CCALLS${i}`;
      const text = '<@UBOT> How do I add the bot to Slack?';
      // The first answer in a channel also asks who can see it, for the record (cached 10 min).
      const first = await answerIn(channel);
      if (i === 0) firstInChannel = first;
      ours.push(await answerIn(channel));

      // The same text at the same pace through Slack's ChatStreamer (buffer of 256 characters).
      const peerChannel = `CPEER${i}`;
      const streamer = client.chatStream({
        channel: peerChannel,
        thread_ts: slack.addUserMessage(peerChannel, 'U1', text),
        recipient_user_id: 'U1',
        recipient_team_id: slack.teamId,
      });
      const start = performance.now();
      for (const [piece, at] of answer) {
        if (at) await until(start, at);
        await streamer.append({ markdown_text: piece });
      }
      await streamer.stop({ blocks: [{ type: 'divider' }] });
      peer.push(methodsIn(slack, peerChannel));
    }
  } finally {
    await adapter.stop();
    await slack.close();
    appDb.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  const describe = (methods: string[]) => `${methods.length} (${methods.join(', ')})`;
  return [
    {
      suite: 'slack',
      metric: "Web API calls per channel answer, short (one sentence): this bot / Slack's ChatStreamer",
      value: `${describe(ours[0]!)} / ${describe(peer[0]!)}`,
      target: '2',
      pass: ours[0]!.length <= 2,
    },
    {
      suite: 'slack',
      metric: 'Web API calls per channel answer streamed over 0.6 s (600 chars): this bot / ChatStreamer',
      value: `${describe(ours[1]!)} / ${describe(peer[1]!)}`,
      target: '≤ 3',
      pass: ours[1]!.length <= 3,
    },
    {
      suite: 'slack',
      metric: "the first short answer in a channel (the record's audience, cached 10 minutes per channel)",
      value: describe(firstInChannel),
    },
    {
      suite: 'slack',
      metric: "the same answer before (bench of 2026-11-25, plus the record's getPermalink it did not count)",
      value: '5 (setStatus, startStream, appendStream, stopStream, getPermalink)',
    },
  ];
}

const suite: BenchSuite = {
  name: 'slack',
  async run(): Promise<BenchRow[]> {
    const fakes = await startRemoteFakes({ groqFirstTokenMs: 50, upstashMs: 20 });
    const slack = await startFakeSlack();
    const core = await coreOverFakes(fakes, 1);
    const adapter = createSlackAdapter({
      config: { botToken: slack.token, signingSecret: SECRET, apiURL: slack.apiURL, allowedChannels: [] },
      port: 0,
      conversations: layerOver(core, { dedupe: new MemoryDedupeStore() }),
    });
    await adapter.start();
    const url = `http://127.0.0.1:${adapter.port}/slack/events`;
    let thread = 0;

    /** Sends one mention and resolves when its first answer text reaches Slack. */
    const firstText = async (): Promise<{ ms: number; channel: string }> => {
      const channel = `CB${++thread}`;
      const ts = slack.addUserMessage(channel, 'U1', '<@UBOT> How do I add the bot to Slack?');
      const started = performance.now();
      const arrived = slack.nextAnswerText(channel).then(() => performance.now() - started);
      await sendToBolt(
        url,
        eventEnvelope({
          type: 'app_mention',
          user: 'U1',
          text: '<@UBOT> How do I add the bot to Slack?',
          ts,
          channel,
        }),
        'application/json',
        { secret: SECRET },
      );
      return { ms: await arrived, channel };
    };

    try {
      const samples = await measureOverhead(
        async () => (await firstText()).ms,
        () => bareRoundTrip(fakes),
      );
      const rows = samples.map(
        (sample): BenchRow => ({
          suite: 'slack',
          metric: `event in → first text posted, overhead at ${sample.concurrency} concurrent threads (p50 / p99)`,
          value: `${ms(sample.p50)} / ${ms(sample.p99)}`,
          target: '≤ 10 ms p50',
          pass: sample.p50 <= 10,
        }),
      );
      rows.push(...(await callCounts()));
      return rows;
    } finally {
      await adapter.stop();
      await slack.close();
      await fakes.stop();
    }
  },
};

export default suite;
