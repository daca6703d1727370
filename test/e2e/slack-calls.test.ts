/**
 * What one answer costs in Slack Web API calls, counted against the Slack fake through Bolt's
 * real receiver and client: a short channel answer is chat.startStream (with its first text)
 * and chat.stopStream; one that keeps streaming past the append interval adds one
 * chat.appendStream per interval; the answer record links to the question without
 * chat.getPermalink; assistant.threads.setStatus only where Slack accepts it. The write throttle
 * runs on a clock the test moves, so no count depends on the machine's speed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failures } from '../../src/core/failures.js';
import type { AnswerEvent, Answerer, Source } from '../../src/core/types.js';
import { silentLogger } from '../../src/log.js';
import { createSlackAdapter, type SlackAdapter } from '../../src/platforms/slack/index.js';
import { StoreRecorder } from '../../src/records/recorder.js';
import { RecordStore } from '../../src/records/store.js';
import type { EditClock } from '../../src/render/throttled-edits.js';
import { type AppDatabase, openAppDatabase } from '../../src/state/app-db.js';
import { eventEnvelope, type FakeSlack, sendToBolt, startFakeSlack } from '../fakes/slack/index.js';
import { layerOver } from '../support/conversations.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'slack-calls-signing-secret';
const APPEND_MS = 400;

/** Time for the write throttle, moved by the test. */
class ManualClock implements EditClock {
  private time = 0;
  private timers: { at: number; run: () => void }[] = [];
  now = () => this.time;
  after(ms: number, run: () => void) {
    const timer = { at: this.time + ms, run };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }
  advance(ms: number) {
    this.time += ms;
    const due = this.timers.filter((t) => t.at <= this.time);
    this.timers = this.timers.filter((t) => t.at > this.time);
    for (const timer of due) timer.run();
  }
}

const SOURCE: Source = {
  index: 1,
  passageId: 'p1',
  title: 'Adding the bot to Slack',
  source: 'knowledge/slack-setup.md',
  score: 0.9,
  snippet: 'Create the app from the manifest.',
};

/** An answer written as the test says: pieces, each after its gate (if any) opens, or a crash. */
type Step = string | Promise<void> | Error;

class ScriptedAnswerer implements Answerer {
  script: Step[] = [];
  outcome: 'answer' | 'nothing' = 'answer';
  async *answer(): AsyncGenerator<AnswerEvent> {
    if (this.outcome === 'nothing') {
      yield { type: 'failure', failure: failures.nothingFound() };
      return;
    }
    yield { type: 'sources', sources: [SOURCE] };
    let text = '';
    for (const step of this.script) {
      if (step instanceof Error) throw step;
      if (typeof step !== 'string') {
        await step;
        continue;
      }
      text += step;
      yield { type: 'delta', text: step };
    }
    yield {
      type: 'done',
      text,
      mode: 'groq',
      degraded: false,
      standaloneQuestion: 'q',
      timings: { condenseMs: 0, retrievalMs: 1, firstTokenMs: 1, totalMs: 2 },
    };
  }
}

function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

let slack: FakeSlack;
let dataDir: string;
let appDb: AppDatabase;
let records: RecordStore;
let recorder: StoreRecorder;
const answerer = new ScriptedAnswerer();
const clock = new ManualClock();
const adapters: SlackAdapter[] = [];

async function adapterOn(fake: FakeSlack, firstTextWaitMs = 60_000): Promise<SlackAdapter> {
  const adapter = createSlackAdapter({
    config: { botToken: fake.token, signingSecret: SECRET, apiURL: fake.apiURL, allowedChannels: [] },
    port: 0,
    conversations: layerOver(answerer, { clock, recorder }),
    pacing: { appendIntervalMs: APPEND_MS, firstTextWaitMs },
  });
  await adapter.start();
  adapters.push(adapter);
  return adapter;
}

/** @mentions the bot in `channel`; returns the mention's ts (the thread the answer opens). */
async function mention(fake: FakeSlack, adapter: SlackAdapter, channel: string): Promise<string> {
  const text = '<@UBOT> How do I add the bot to Slack?';
  const ts = fake.addUserMessage(channel, 'U1', text);
  await sendToBolt(
    `http://127.0.0.1:${adapter.port}/slack/events`,
    eventEnvelope({ type: 'app_mention', user: 'U1', text, ts, channel }, fake.teamId),
    'application/json',
    { secret: SECRET },
  );
  return ts;
}

/** Every Web API call about `channel`, by method. */
const allCallsIn = (fake: FakeSlack, channel: string) =>
  fake.calls.filter((c) => c.args.channel === channel || c.args.channel_id === channel).map((c) => c.method);

/**
 * The calls the answers in `channel` made. The answer record's audience (conversations.info,
 * cached per channel for ten minutes) is counted apart, in the first test.
 */
const callsIn = (fake: FakeSlack, channel: string) =>
  allCallsIn(fake, channel).filter((method) => method !== 'conversations.info');

/** Waits until the answer to the mention at `ts` is recorded and its look-ups are done. */
async function recorded(channel: string, ts: string): Promise<void> {
  await waitFor(
    async () =>
      (await records.answers(0, Date.now() + 60_000)).some(
        (answer) => answer.link === slack.permalink(channel, ts),
      ),
    'the answer record with its link',
  );
  await recorder.settled();
}

const ended = (fake: FakeSlack, channel: string) => () =>
  fake.calls.find(
    (c) =>
      c.args.channel === channel &&
      (c.method === 'chat.stopStream' || c.method === 'chat.postMessage' || c.method === 'chat.update') &&
      /feedback_up|:warning:/.test(JSON.stringify(c.args)),
  );

beforeAll(async () => {
  slack = await startFakeSlack();
  dataDir = await mkdtemp(join(tmpdir(), 'rag-slack-calls-'));
  appDb = openAppDatabase(dataDir);
  records = new RecordStore(appDb, Buffer.alloc(32, 3));
  recorder = new StoreRecorder(records, { keepText: false, log: silentLogger });
});
afterAll(async () => {
  await Promise.all(adapters.map((adapter) => adapter.stop()));
  await slack.close();
  appDb.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('Slack Web API calls per answer in a channel', () => {
  it('a short answer: chat.startStream with its first text and chat.stopStream, nothing else', async () => {
    const adapter = await adapterOn(slack);
    const authTests = slack.callsTo('auth.test').length;
    answerer.outcome = 'answer';
    answerer.script = ['Create the app ', 'from the manifest, ', 'then install it [1].'];
    const ts = await mention(slack, adapter, 'C0SHORT');
    await waitFor(ended(slack, 'C0SHORT'), 'the end of the answer');
    await recorded('C0SHORT', ts);

    expect(callsIn(slack, 'C0SHORT')).toEqual(['chat.startStream', 'chat.stopStream']);
    const [start, stop] = slack.calls.filter(
      (c) => c.args.channel === 'C0SHORT' && c.method !== 'conversations.info',
    );
    expect(start!.args).toMatchObject({ thread_ts: ts, markdown_text: 'Create the app ' });
    expect(stop!.args.markdown_text).toBe('from the manifest, then install it [1].');
    expect(JSON.stringify(stop!.args.blocks)).toContain('feedback_up');
    expect(slack.messages('C0SHORT').find((m) => m.thread_ts === ts)?.text).toBe(
      'Create the app from the manifest, then install it [1].',
    );
    // The record links to the question, built from the workspace's URL: no call per answer.
    const question = (await records.answers(0, Date.now() + 1_000)).at(-1)!;
    expect(question.link).toBe(slack.permalink('C0SHORT', ts));
    expect(slack.callsTo('chat.getPermalink')).toEqual([]);
    expect(slack.callsTo('auth.test').length).toBe(authTests);
    expect(slack.callsTo('assistant.threads.setStatus')).toEqual([]);

    // Who can see the channel, for the record, is asked once per channel (then cached): the
    // next answer there costs its two calls and nothing else.
    expect(allCallsIn(slack, 'C0SHORT').filter((method) => method === 'conversations.info')).toHaveLength(1);
    const before = allCallsIn(slack, 'C0SHORT').length;
    const again = await mention(slack, adapter, 'C0SHORT');
    await waitFor(
      () =>
        slack
          .callsTo('chat.stopStream')
          .find((c) => slack.messages('C0SHORT').some((m) => m.ts === c.args.ts && m.thread_ts === again)),
      'the second answer',
    );
    await recorded('C0SHORT', again);
    expect(allCallsIn(slack, 'C0SHORT').slice(before)).toEqual(['chat.startStream', 'chat.stopStream']);
  });

  it('an answer still streaming after the append interval: one chat.appendStream per interval', async () => {
    const adapter = await adapterOn(slack);
    const more = gate();
    const rest = gate();
    answerer.script = [
      'Create the app ',
      more.opened,
      'from the manifest, ',
      rest.opened,
      'then install it [1].',
    ];
    await mention(slack, adapter, 'C0TYPICAL');
    await waitFor(
      () => slack.callsTo('chat.startStream').find((c) => c.args.channel === 'C0TYPICAL'),
      'the stream',
    );
    more.open();
    // The new text reaches the layer within this turn of the event loop (no I/O in between).
    await new Promise((resolve) => setImmediate(resolve));
    // The model is still writing when the interval has passed: the text so far goes out once.
    clock.advance(APPEND_MS);
    const appended = await waitFor(
      () => slack.callsTo('chat.appendStream').find((c) => c.args.channel === 'C0TYPICAL'),
      'the text written in the meantime',
    );
    expect(appended.args.markdown_text).toBe('from the manifest, ');
    rest.open();
    await waitFor(ended(slack, 'C0TYPICAL'), 'the end of the answer');
    expect(callsIn(slack, 'C0TYPICAL')).toEqual(['chat.startStream', 'chat.appendStream', 'chat.stopStream']);
  });

  it('an append Slack refuses past the retries: its text goes out with the end, none of the answer lost', async () => {
    const adapter = await adapterOn(slack);
    const more = gate();
    const rest = gate();
    answerer.script = ['Deploys are ', more.opened, 'NOT allowed ', rest.opened, 'on Fridays [1].'];
    const ts = await mention(slack, adapter, 'C0APPENDFAIL');
    await waitFor(
      () => slack.callsTo('chat.startStream').find((c) => c.args.channel === 'C0APPENDFAIL'),
      'the stream',
    );
    // The client's three retries and the first attempt all meet 429.
    slack.rateLimit('chat.appendStream', 0, 4);
    more.open();
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(APPEND_MS);
    await waitFor(
      () =>
        slack.calls.filter((c) => c.method === 'chat.appendStream' && c.args.channel === 'C0APPENDFAIL')
          .length >= 4,
      'the refused appends',
    );
    rest.open();
    await waitFor(ended(slack, 'C0APPENDFAIL'), 'the end of the answer');
    expect(slack.messages('C0APPENDFAIL').find((m) => m.thread_ts === ts)?.text).toBe(
      'Deploys are NOT allowed on Fridays [1].',
    );
  });

  it('an answer longer than one call may carry (12,000 characters): sent in pieces, none of it lost', async () => {
    const adapter = await adapterOn(slack);
    const sentence = 'Each paragraph of the runbook explains one step of the deploy [1]. ';
    const long = sentence.repeat(Math.ceil(25_000 / sentence.length));
    const more = gate();
    answerer.script = [long, more.opened, long];
    const ts = await mention(slack, adapter, 'C0LONG');
    await waitFor(
      () => slack.callsTo('chat.startStream').find((c) => c.args.channel === 'C0LONG'),
      'the stream',
    );
    more.open();
    await waitFor(ended(slack, 'C0LONG'), 'the end of the answer');
    const calls = slack.calls.filter((c) => c.args.channel === 'C0LONG' && c.method.startsWith('chat.'));
    expect(calls.every((c) => String(c.args.markdown_text ?? '').length <= 12_000)).toBe(true);
    expect(calls.map((c) => c.method)).not.toContain('chat.postMessage');
    expect(slack.messages('C0LONG').find((m) => m.thread_ts === ts)?.text).toBe(long + long);
  });

  it("streams to the asker's own workspace in a channel shared with another organisation", async () => {
    const adapter = await adapterOn(slack);
    answerer.script = ['Create the app from the manifest [1].'];
    const text = '<@UBOT> How do I add the bot to Slack?';
    const ts = slack.addUserMessage('C0SHARED', 'U0EXTERNAL', text);
    await sendToBolt(
      `http://127.0.0.1:${adapter.port}/slack/events`,
      eventEnvelope(
        { type: 'app_mention', user: 'U0EXTERNAL', user_team: 'T0PARTNER', text, ts, channel: 'C0SHARED' },
        slack.teamId,
      ),
      'application/json',
      { secret: SECRET },
    );
    await waitFor(ended(slack, 'C0SHARED'), 'the end of the answer');
    const start = slack.callsTo('chat.startStream').find((c) => c.args.channel === 'C0SHARED');
    expect(start?.args).toMatchObject({ recipient_user_id: 'U0EXTERNAL', recipient_team_id: 'T0PARTNER' });
  });

  it('a first text slow to come: the stream opens empty as the sign of life, then carries the answer', async () => {
    const adapter = await adapterOn(slack, 10);
    const first = gate();
    answerer.script = [first.opened, 'Create the app from the manifest [1].'];
    const ts = await mention(slack, adapter, 'C0SLOWFIRST');
    const opened = await waitFor(
      () => slack.callsTo('chat.startStream').find((c) => c.args.channel === 'C0SLOWFIRST'),
      'the stream opened before any text',
    );
    expect(opened.args.markdown_text).toBeUndefined();
    expect(opened.args.thread_ts).toBe(ts);
    first.open();
    await waitFor(ended(slack, 'C0SLOWFIRST'), 'the end of the answer');
    expect(callsIn(slack, 'C0SLOWFIRST')).toEqual([
      'chat.startStream',
      'chat.appendStream',
      'chat.stopStream',
    ]);
  });

  it('a refusal (nothing found): one chat.postMessage with the reason', async () => {
    const adapter = await adapterOn(slack);
    answerer.outcome = 'nothing';
    try {
      const ts = await mention(slack, adapter, 'C0NOTHING');
      await waitFor(ended(slack, 'C0NOTHING'), 'the refusal');
      expect(callsIn(slack, 'C0NOTHING')).toEqual(['chat.postMessage']);
      expect(slack.messages('C0NOTHING').find((m) => m.thread_ts === ts)?.text).toContain(
        "couldn't find anything about that",
      );
    } finally {
      answerer.outcome = 'answer';
    }
  });

  it('an answer that breaks off ends its open stream with the notice, and leaves no stream open', async () => {
    const adapter = await adapterOn(slack, 10);
    const later = gate();
    answerer.script = [later.opened, new Error('the answerer broke')];
    await mention(slack, adapter, 'C0BROKEN');
    await waitFor(
      () => slack.callsTo('chat.startStream').find((c) => c.args.channel === 'C0BROKEN'),
      'the stream opened as the sign of life',
    );
    later.open();
    const stop = await waitFor(
      () => slack.callsTo('chat.stopStream').find((c) => c.args.channel === 'C0BROKEN'),
      'the stream stopped',
    );
    expect(String(stop.args.markdown_text)).toMatch(/^:warning: /);
    expect(callsIn(slack, 'C0BROKEN')).toEqual(['chat.startStream', 'chat.stopStream']);

    // Broken before the wait ran out: one message with the notice, and no stream opened later.
    const quick = await adapterOn(slack, 200);
    answerer.script = [new Error('the answerer broke at once')];
    await mention(slack, quick, 'C0BROKENEARLY');
    await waitFor(() => slack.calls.find((c) => c.args.channel === 'C0BROKENEARLY'), 'the notice');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(callsIn(slack, 'C0BROKENEARLY')).toEqual(['chat.postMessage']);
  });

  it('where Slack refuses streaming: posts the first text, and stops trying to stream in that workspace', async () => {
    const noStreams = await startFakeSlack();
    noStreams.disableStreaming();
    try {
      const adapter = await adapterOn(noStreams);
      answerer.script = ['Create the app ', 'from the manifest [1].'];
      await mention(noStreams, adapter, 'C0REFUSED1');
      await waitFor(ended(noStreams, 'C0REFUSED1'), 'the first answer');
      expect(callsIn(noStreams, 'C0REFUSED1')).toEqual([
        'chat.startStream',
        'chat.postMessage',
        'chat.update',
      ]);
      await mention(noStreams, adapter, 'C0REFUSED2');
      await waitFor(ended(noStreams, 'C0REFUSED2'), 'the second answer');
      expect(callsIn(noStreams, 'C0REFUSED2')).toEqual(['chat.postMessage', 'chat.update']);
      const first = noStreams.calls.find((c) => c.args.channel === 'C0REFUSED2')!;
      expect(JSON.stringify(first.args.blocks)).toContain('Create the app');
    } finally {
      await noStreams.close();
    }
  });
});
