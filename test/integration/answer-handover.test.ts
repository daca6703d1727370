/**
 * An answer survives its instance: instances sharing one PostgreSQL (each its own pool and
 * tracker, as on separate hosts) record their answers in flight, and finish the answers of an
 * instance that fell silent, into the same message. The database and the trackers compare times
 * on the test's own clock, so no test waits out a takeover.
 */
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Conversation, FinalReply } from '../../src/conversation/conversation.js';
import { ConversationLayer } from '../../src/conversation/layer.js';
import { strings } from '../../src/conversation/strings.js';
import { failures } from '../../src/core/failures.js';
import type { AnswerEvent, Answerer, Question } from '../../src/core/types.js';
import { PostgresInFlightStore } from '../../src/handover/postgres-store.js';
import { AnswerHandover } from '../../src/handover/tracker.js';
import { type InFlightStore, RecordNotWritten } from '../../src/handover/types.js';
import { silentLogger } from '../../src/log.js';
import { DrainingAnswerer } from '../../src/ops/draining-answerer.js';
import { MemoryDedupeStore } from '../../src/ops/shared-state.js';
import { type SlackResumedReply, slackConversation } from '../../src/platforms/slack/conversation.js';
import { slackNeutralizer } from '../../src/render/slack-text.js';
import { connectPostgres, type PostgresDatabase } from '../../src/state/postgres.js';
import { startFakeSlack } from '../fakes/slack/index.js';
import { createTestDatabase, havePostgres } from '../support/postgres.js';
import { waitFor } from '../support/wait.js';

/** The threshold the trackers are given; the test's clock jumps past it instead of waiting. */
const TAKEOVER_MS = 600_000;
/** How long after its last confirmation an answer may still be written to (two thirds). */
const FENCE_MS = 400_000;
const TIMINGS = { condenseMs: 0, retrievalMs: 0, firstTokenMs: 0, totalMs: 0 };

let url = '';
let clock = Date.parse('2026-03-02T10:00:00Z');
const databases: PostgresDatabase[] = [];

/** The platform both instances write to: messages by id, each with its text and final write. */
interface BoardMessage {
  text: string;
  final?: FinalReply;
  /** Which instance wrote last. */
  by: string;
}

function board() {
  const messages = new Map<string, BoardMessage>();
  /** Every write and final write, in order: who wrote what. */
  const log: { by: string; text: string }[] = [];
  let ids = 0;
  /** A conversation on the board, writing into `messageId` when given (an answer taken over). */
  const conversation = (instance: string, messageId?: string): Conversation => ({
    place: { platform: 'board', channelId: 'C1' },
    asker: { id: 'U1' },
    presenter: { neutralizer: slackNeutralizer, writeIntervalMs: 0 },
    history: async () => [],
    notify: async () => undefined,
    handover: () => ({ channel: 'C1' }),
    openReply: async () => {
      const id = messageId ?? `m${++ids}`;
      if (!messages.has(id)) messages.set(id, { text: '', by: instance });
      const message = messages.get(id)!;
      return {
        writes: 'replace',
        location: () => ({ messageId: id }),
        write: async (text) => {
          message.text = text;
          message.by = instance;
          log.push({ by: instance, text });
        },
        finish: async (final) => {
          message.text = [final.text, final.notice].filter(Boolean).join('\n');
          message.final = final;
          message.by = instance;
          log.push({ by: instance, text: message.text });
        },
      };
    },
  });
  return { messages, conversation, log };
}

/** An answer written halfway, then held until `release` (or aborted, as the core would be). */
function halting(first: string, rest: string) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const answerer: Answerer = {
    async *answer(question: Question): AsyncGenerator<AnswerEvent> {
      yield { type: 'delta', text: first };
      const aborted = new Promise<'aborted'>((resolve) =>
        question.signal?.addEventListener('abort', () => resolve('aborted'), { once: true }),
      );
      if ((await Promise.race([released.then(() => 'released' as const), aborted])) === 'aborted') {
        yield { type: 'failure', failure: failures.interrupted(first) };
        return;
      }
      yield { type: 'delta', text: rest };
      yield {
        type: 'done',
        text: first + rest,
        mode: 'groq',
        degraded: false,
        timings: TIMINGS,
        standaloneQuestion: 'q',
      };
    },
  };
  return { answerer, release };
}

const whole = (text: string): Answerer => ({
  async *answer(): AsyncGenerator<AnswerEvent> {
    yield { type: 'delta', text };
    yield { type: 'done', text, mode: 'groq', degraded: false, timings: TIMINGS, standaloneQuestion: 'q' };
  },
});

/** The store's methods as a plain object, so a test can replace one of them. */
function bound(store: InFlightStore): InFlightStore {
  return {
    begin: store.begin.bind(store),
    located: store.located.bind(store),
    heartbeat: store.heartbeat.bind(store),
    claimStale: store.claimStale.bind(store),
    finish: store.finish.bind(store),
    release: store.release.bind(store),
    prune: store.prune.bind(store),
  };
}

async function instance(
  name: string,
  answerer: Answerer,
  platform: ReturnType<typeof board>,
  options: { stopped?: boolean; wrap?: (store: InFlightStore) => InFlightStore } = {},
) {
  const db = await connectPostgres(url, { maxConnections: 3 });
  databases.push(db);
  const opened = await PostgresInFlightStore.open(db, { now: () => clock });
  const store = options.wrap ? options.wrap(opened) : opened;
  const handover = new AnswerHandover({ store, takeoverMs: TAKEOVER_MS, instanceId: name, now: () => clock });
  const draining = new DrainingAnswerer(answerer);
  const layer = new ConversationLayer({
    answerer: draining,
    log: silentLogger,
    dedupe: new MemoryDedupeStore(),
    maxQuestionChars: 1_000,
    handover,
  });
  const resumed: string[] = [];
  layer.resumeOn('board', async (target) => {
    resumed.push(String(target.reply?.messageId ?? 'none'));
    return platform.conversation(name, target.reply?.messageId as string | undefined);
  });
  if (!options.stopped) layer.startHandover();
  return { db, store, handover, layer, draining, resumed };
}

/** Waits until the answer's record knows where its reply is (written just after the message is made). */
async function located(db: PostgresDatabase) {
  await waitFor(
    async () => (await db.pool.query('SELECT 1 FROM rag_answers_in_flight WHERE reply IS NOT NULL')).rowCount,
    'the reply located',
  );
}

async function rows(db: PostgresDatabase) {
  const { rows } = await db.pool.query<{ question_id: string; owner: string; attempts: number }>(
    'SELECT question_id, owner, attempts FROM rag_answers_in_flight ORDER BY started_at',
  );
  return rows;
}

beforeAll(async () => {
  if (havePostgres) url = await createTestDatabase('handover');
});
afterAll(async () => {
  await Promise.all(databases.map((db) => db.close()));
});

describe.skipIf(!havePostgres)('answers in flight across instances', () => {
  it('finishes, into the same message, an answer whose instance fell silent; the silent one then writes no more', async () => {
    const platform = board();
    const slow = halting('Half an ans', 'wer from A.');
    const a = await instance('A', slow.answerer, platform);
    const b = await instance('B', whole('The whole answer, from B.'), platform);
    const asking = a.layer.ask(platform.conversation('A'), 'How do visitors cross?');
    await waitFor(() => platform.messages.get('m1')?.text, 'A halfway');
    await located(a.db);
    expect(platform.messages.get('m1')?.text).toBe('Half an ans');

    // A was silent past the threshold: B claims the answer and writes it into A's message.
    clock += TAKEOVER_MS + 1;
    expect(await b.handover.takeOver()).toBe(1);
    expect(b.resumed).toEqual(['m1']);
    const finished = await waitFor(() => platform.messages.get('m1')?.final, 'B finishing the answer');
    expect(finished.text).toBe('The whole answer, from B.');
    expect(finished.feedbackId).toBeDefined();
    expect(platform.messages.size).toBe(1);

    // A's next heartbeat says the answer is no longer its own: it stops writing it.
    await a.handover.heartbeat();
    slow.release();
    const outcome = await asking;
    expect(outcome.ok).toBe(false);
    expect(platform.messages.get('m1')).toMatchObject({ by: 'B', text: 'The whole answer, from B.' });
    await waitFor(async () => (await rows(a.db)).length === 0, 'the record gone once B finished');
  });

  it('leaves an instance that is merely slow its answers: a heartbeat within the threshold keeps them', async () => {
    const platform = board();
    const slow = halting('Slow but ', 'alive.');
    const a = await instance('A2', slow.answerer, platform);
    const b = await instance('B2', whole('never'), platform);
    const asking = a.layer.ask(platform.conversation('A2'), 'q');
    await waitFor(async () => (await rows(a.db)).length === 1, 'the answer recorded');
    // Two thirds of the threshold, a heartbeat, two thirds again: never silent for the whole of it.
    clock += (TAKEOVER_MS * 2) / 3;
    await a.handover.heartbeat();
    clock += (TAKEOVER_MS * 2) / 3;
    expect(await b.handover.takeOver()).toBe(0);
    slow.release();
    expect((await asking).ok).toBe(true);
    expect(b.resumed).toEqual([]);
    expect(platform.messages.get('m1')).toMatchObject({ by: 'A2', text: 'Slow but alive.' });
    expect(await rows(a.db)).toEqual([]);
  });

  it('goes on with an answer whose record failed to be written, or is still being written: a heartbeat does not take it for lost', async () => {
    const platform = board();
    // The database blinks as the first answer begins: its record is never written.
    const failing = halting('Written ', 'without a record.');
    const a = await instance('A7', failing.answerer, platform, {
      wrap: (store) => ({
        ...bound(store),
        begin: async () => Promise.reject(new RecordNotWritten('the record was not written')),
      }),
    });
    const first = a.layer.ask(platform.conversation('A7'), 'q');
    await a.handover.heartbeat();
    // Nothing to be claimed: however long ago it began, it is not paused.
    clock += TAKEOVER_MS;
    failing.release();
    expect((await first).ok).toBe(true);
    expect(platform.messages.get('m1')).toMatchObject({ text: 'Written without a record.' });
    // The next answer's record is still on its way when a heartbeat runs.
    let letIn!: () => void;
    const inserting = new Promise<void>((resolve) => {
      letIn = resolve;
    });
    const slow = halting('Recorded ', 'late.');
    const b = await instance('B7', slow.answerer, platform, {
      wrap: (store) => ({
        ...bound(store),
        begin: async (answer, owner) => {
          await inserting;
          await store.begin(answer, owner);
        },
      }),
    });
    const second = b.layer.ask(platform.conversation('B7'), 'q');
    await b.handover.heartbeat();
    letIn();
    await waitFor(async () => (await rows(b.db)).length === 1, 'the record written');
    await b.handover.heartbeat();
    slow.release();
    expect((await second).ok).toBe(true);
    expect(platform.messages.get('m2')).toMatchObject({ text: 'Recorded late.' });
    expect(await rows(b.db)).toEqual([]);
  });

  it('renews and ends, as its own, an answer whose record was written though its insert reported a failure', async () => {
    const platform = board();
    const slow = halting('Recorded after ', 'all.');
    // The insert lands, but its reply is lost (a connection dropped, a client-side timeout).
    const a = await instance('A10', slow.answerer, platform, {
      wrap: (store) => ({
        ...bound(store),
        begin: async (answer, owner) => {
          await store.begin(answer, owner);
          throw new Error('Query read timeout');
        },
      }),
    });
    const b = await instance('B10', whole('never'), platform);
    const asking = a.layer.ask(platform.conversation('A10'), 'q');
    await waitFor(() => platform.messages.get('m1')?.text, 'A halfway');
    // A heartbeat finds the record A's: renewed from now on, so nobody takes it over, and told
    // where the reply is.
    clock += FENCE_MS;
    await a.handover.heartbeat();
    await located(a.db);
    clock += FENCE_MS;
    expect(await b.handover.takeOver()).toBe(0);
    slow.release();
    expect((await asking).ok).toBe(true);
    expect(platform.messages.get('m1')).toMatchObject({ by: 'A10', text: 'Recorded after all.' });
    // Its end is written too: no record is left for anyone to answer again.
    await waitFor(async () => (await rows(a.db)).length === 0, 'the record ended');
    expect(b.resumed).toEqual([]);
  });

  it('ends the record of a question that failed before its answer began (a guard down): the person is told, and nobody answers it later', async () => {
    const platform = board();
    const guardDown: Answerer = {
      ...whole('never'),
      admit: async () => {
        throw new Error('rate limiter unreachable');
      },
    };
    const a = await instance('A8', guardDown, platform);
    const notices: string[] = [];
    const asking = {
      ...platform.conversation('A8'),
      notify: async (text: string) => void notices.push(text),
    };
    expect(await a.layer.ask(asking, 'q')).toMatchObject({ ok: false, failure: { kind: 'internal' } });
    // Told, never left in silence.
    expect(notices).toEqual([failures.internal().message]);
    await waitFor(async () => (await rows(a.db)).length === 0, 'no record left');
    expect(a.handover.active).toBe(0);
  });

  it('gives a silent answer to exactly one of two instances looking at once', async () => {
    const platform = board();
    const slow = halting('Half', ' never');
    const a = await instance('A3', slow.answerer, platform);
    const b = await instance('B3', whole('From B3 or C3.'), platform);
    const c = await instance('C3', whole('From B3 or C3.'), platform);
    void a.layer.ask(platform.conversation('A3'), 'q');
    await located(a.db);
    clock += TAKEOVER_MS + 1;
    const taken = await Promise.all([b.handover.takeOver(), c.handover.takeOver()]);
    expect(taken[0]! + taken[1]!).toBe(1);
    expect([...b.resumed, ...c.resumed]).toHaveLength(1);
    await waitFor(() => platform.messages.get('m1')?.final, 'the answer finished');
    await waitFor(async () => (await rows(a.db)).length === 0, 'the record gone');
    await a.handover.heartbeat();
    slow.release();
  });

  it('on stopping, finishes what it can and gives back what it had to interrupt, for another to finish at once', async () => {
    const platform = board();
    const stuck = halting('Started before the restart', ' and never finished here');
    const a = await instance('A4', stuck.answerer, platform);
    const b = await instance('B4', whole('Finished by B4 after the restart.'), platform);
    const asking = a.layer.ask(platform.conversation('A4'), 'q');
    await located(a.db);
    // SIGTERM: no more takeovers, then the drain's grace runs out and the answer is interrupted.
    a.handover.stopTakingOver();
    expect(await a.handover.takeOver()).toBe(0);
    await a.draining.drain(0);
    await asking;
    expect(platform.messages.get('m1')?.final?.notice).toBe(strings.answerHandedOver);
    await a.handover.stop();
    // Given back: taken over without waiting out the threshold.
    expect(await b.handover.takeOver()).toBe(1);
    const finished = await waitFor(
      () => platform.messages.get('m1')?.final?.text === 'Finished by B4 after the restart.',
      'B4 finishing it',
    );
    expect(finished).toBe(true);
    expect(platform.messages.get('m1')?.final?.notice).toBeUndefined();
    await waitFor(async () => (await rows(b.db)).length === 0, 'the record gone once B4 finished');
  });

  it('ends with an apology an answer whose instances kept dying, instead of trying it once more', async () => {
    const platform = board();
    const slow = halting('Doomed', '');
    const a = await instance('A5', slow.answerer, platform);
    void a.layer.ask(platform.conversation('A5'), 'the question that brings instances down');
    await located(a.db);
    // Two instances took it over and died in turn (their claims, and nothing more).
    for (const owner of ['dead-1', 'dead-2']) {
      clock += TAKEOVER_MS + 1;
      expect(await a.store.claimStale(owner, ['board'], TAKEOVER_MS)).toMatchObject({ platform: 'board' });
    }
    const d = await instance('D5', whole('never written'), platform);
    clock += TAKEOVER_MS + 1;
    expect(await d.handover.takeOver()).toBe(1);
    const final = await waitFor(() => platform.messages.get('m1')?.final, 'the apology');
    expect(final.notice).toBe(strings.answerAbandoned);
    expect(final.feedbackId).toBeUndefined();
    await waitFor(async () => (await rows(a.db)).length === 0, 'the record gone');
    await a.handover.heartbeat();
    slow.release();
  });

  it('records nothing on an instance that runs no heartbeat, and keeps no record of a finished answer', async () => {
    const platform = board();
    const quiet = await instance('Q6', whole('Answered without a record.'), platform, { stopped: true });
    expect((await quiet.layer.ask(platform.conversation('Q6'), 'q')).ok).toBe(true);
    const running = await instance('R6', whole('Answered, record gone.'), platform);
    expect((await running.layer.ask(platform.conversation('R6'), 'q')).ok).toBe(true);
    expect(await rows(running.db)).toEqual([]);
    expect([...platform.messages.values()].map((m) => m.text)).toEqual([
      'Answered without a record.',
      'Answered, record gone.',
    ]);
  });
});

describe.skipIf(!havePostgres)('answers in flight while the database is down', () => {
  /** Refuses every connection to this file's database, and ends those open, as a database outage. */
  async function outage(on: boolean) {
    const server = new URL(url);
    const name = server.pathname.slice(1);
    server.pathname = '/postgres';
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: server.href });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS ${on ? 'false' : 'true'}`);
      if (on)
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [
          name,
        ]);
    } finally {
      await admin.end();
    }
  }

  it('writes the end of an answer given during an outage once it is back, so nobody answers it again', async () => {
    const platform = board();
    const slow = halting('Answered while ', 'the database was down.');
    const a = await instance('A7', slow.answerer, platform);
    const b = await instance('B7', whole('never'), platform);
    const asking = a.layer.ask(platform.conversation('A7'), 'q');
    await located(a.db);
    await outage(true);
    try {
      slow.release();
      expect((await asking).ok).toBe(true);
      expect(platform.messages.get('m1')?.text).toBe('Answered while the database was down.');
      // The outage lasts: A's record falls silent, and B sees the outage too (its look fails).
      clock += TAKEOVER_MS + 1;
      expect(await b.handover.takeOver()).toBe(0);
    } finally {
      await outage(false);
    }
    // Back, and A's record looks silent; B, having seen the outage, leaves it to its owner a while.
    expect(await rows(b.db)).toHaveLength(1);
    expect(await b.handover.takeOver()).toBe(0);
    // A's next heartbeat writes the end it could not.
    await a.handover.heartbeat();
    expect(await rows(a.db)).toEqual([]);
    const c = await instance('C7', whole('never'), platform);
    expect(await c.handover.takeOver()).toBe(0);
    expect(platform.messages.size).toBe(1);
  });
});

describe.skipIf(!havePostgres)('never two writers for one answer', () => {
  /** The store, failing every call while `cut()` says this instance cannot reach the database. */
  const reachable =
    (cut: () => boolean) =>
    (store: InFlightStore): InFlightStore => {
      const when =
        <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
        async (...args: A): Promise<R> => {
          if (cut()) throw Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' });
          return call(...args);
        };
      const all = bound(store);
      return {
        begin: when(all.begin),
        located: when(all.located),
        heartbeat: when(all.heartbeat),
        claimStale: when(all.claimStale),
        finish: when(all.finish),
        release: when(all.release),
        prune: when(all.prune),
      };
    };

  it('an instance cut off from the database stops writing before another may take its answer over, and for good once it learns it was', async () => {
    const platform = board();
    let partitioned = false;
    const slow = halting('Half an ans', 'wer from A.');
    const a = await instance('A11', slow.answerer, platform, { wrap: reachable(() => partitioned) });
    const b = await instance('B11', whole('The whole answer, from B.'), platform);
    const asking = a.layer.ask(platform.conversation('A11'), 'q');
    await waitFor(() => platform.messages.get('m1')?.text, 'A halfway');
    await located(a.db);
    const writtenByA = platform.log.filter((write) => write.by === 'A11').length;

    // A is cut off; two thirds of the takeover time pass without a heartbeat reaching the database.
    partitioned = true;
    clock += FENCE_MS + 1;
    await a.handover.heartbeat();
    // The model goes on: A keeps the text, writes none of it.
    slow.release();
    await waitFor(() => a.handover.paused === 1, "A's answer paused");
    expect(platform.messages.get('m1')).toMatchObject({ by: 'A11', text: 'Half an ans' });

    // The takeover time passes: B, which reaches the database, finishes the answer in A's message.
    clock += TAKEOVER_MS / 3;
    expect(await b.handover.takeOver()).toBe(1);
    const finished = await waitFor(() => platform.messages.get('m1')?.final, 'B finishing the answer');
    expect(finished.text).toBe('The whole answer, from B.');

    // A reaches the database again: the answer is no longer its own, and its kept text is dropped.
    partitioned = false;
    await a.handover.heartbeat();
    expect((await asking).ok).toBe(false);
    expect(platform.log.filter((write) => write.by === 'A11')).toHaveLength(writtenByA);
    expect(platform.messages.get('m1')).toMatchObject({ by: 'B11', text: 'The whole answer, from B.' });
    expect(platform.messages.size).toBe(1);
  });

  it('in an outage every answer pauses, then goes on where it was once the database is back, nobody else taking it', async () => {
    const platform = board();
    let down = false;
    const slow = halting('Paused while ', 'the database was down, then finished.');
    const a = await instance('A12', slow.answerer, platform, { wrap: reachable(() => down) });
    const b = await instance('B12', whole('never'), platform, { wrap: reachable(() => down) });
    const asking = a.layer.ask(platform.conversation('A12'), 'q');
    await waitFor(() => platform.messages.get('m1')?.text, 'A halfway');
    await located(a.db);

    down = true;
    clock += FENCE_MS + 1;
    await a.handover.heartbeat();
    slow.release();
    await waitFor(() => a.handover.paused === 1, "A's answer paused");
    expect(platform.messages.get('m1')?.text).toBe('Paused while ');
    // The outage outlasts the takeover time; B's looks fail meanwhile.
    clock += TAKEOVER_MS;
    expect(await b.handover.takeOver()).toBe(0);

    // Back: A's record looks silent, but B leaves it to its owner for a takeover period.
    down = false;
    expect(await b.handover.takeOver()).toBe(0);
    // A's heartbeat confirms the answer is A's: the kept text goes out, and the end.
    await a.handover.heartbeat();
    expect((await asking).ok).toBe(true);
    const final = platform.messages.get('m1')?.final;
    expect(final?.text).toBe('Paused while the database was down, then finished.');
    expect(final?.feedbackId).toBeDefined();
    expect(platform.messages.get('m1')?.by).toBe('A12');
    expect(platform.messages.size).toBe(1);
    expect(b.resumed).toEqual([]);
    await waitFor(async () => (await rows(a.db)).length === 0, 'the record ended');
  });

  it('pauses an answer whose insert landed though its reply was lost, on an instance then cut off: another instance finishing it is its only writer', async () => {
    const platform = board();
    let partitioned = false;
    const slow = halting('Half an ans', 'wer from A.');
    const a = await instance('A13', slow.answerer, platform, {
      wrap: (store) => ({
        ...reachable(() => partitioned)(store),
        // The insert commits, then A is cut off before its reply arrives: outcome unknown.
        begin: async (answer, owner) => {
          await store.begin(answer, owner);
          partitioned = true;
          throw new Error('Query read timeout');
        },
      }),
    });
    const b = await instance('B13', whole('The whole answer, from B.'), platform);
    const asking = a.layer.ask(platform.conversation('A13'), 'q');
    await waitFor(() => platform.messages.get('m1')?.text, 'A halfway');
    const writtenByA = platform.log.filter((write) => write.by === 'A13').length;

    clock += FENCE_MS + 1;
    await a.handover.heartbeat();
    slow.release();
    await waitFor(() => a.handover.paused === 1, "A's answer paused");
    clock += TAKEOVER_MS / 3;
    expect(await b.handover.takeOver()).toBe(1);
    await waitFor(() => b.resumed.length === 1, 'B finishing the answer');

    // A reaches the database again and learns the answer is B's: it never wrote after the pause.
    partitioned = false;
    await a.handover.heartbeat();
    expect((await asking).ok).toBe(false);
    expect(platform.log.filter((write) => write.by === 'A13')).toHaveLength(writtenByA);
  });

  it('never pauses an answer whose record the database certainly did not write, however long it is down', async () => {
    const platform = board();
    let down = false;
    const slow = halting('Written ', 'without a record.');
    const a = await instance('A14', slow.answerer, platform, {
      wrap: (store) => ({
        ...reachable(() => down)(store),
        begin: async () => {
          down = true;
          throw new RecordNotWritten('the record was not written', {
            cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
          });
        },
      }),
    });
    const asking = a.layer.ask(platform.conversation('A14'), 'q');
    await waitFor(() => platform.messages.get('m1')?.text, 'A halfway');
    clock += TAKEOVER_MS * 2;
    await a.handover.heartbeat();
    slow.release();
    expect((await asking).ok).toBe(true);
    expect(platform.messages.get('m1')?.final?.text).toBe('Written without a record.');
    expect(a.handover.paused).toBe(0);
  });

  it('holds an answer whose record is slow to be written, and lets it go on once that write failed', async () => {
    const platform = board();
    let refuse!: () => void;
    const inserting = new Promise<void>((_resolve, reject) => {
      refuse = () =>
        reject(
          new RecordNotWritten('the record was not written', {
            cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
          }),
        );
    });
    inserting.catch(() => undefined);
    const slow = halting('Held until ', 'its record was known not to exist.');
    const a = await instance('A14', slow.answerer, platform, {
      wrap: (store) => ({ ...bound(store), begin: () => inserting }),
    });
    const asking = a.layer.ask(platform.conversation('A14'), 'q');
    await waitFor(() => platform.messages.get('m1')?.text, 'the first text');
    // The insert may still land at any moment, so past two thirds of the takeover time the answer waits.
    clock += FENCE_MS + 1;
    slow.release();
    await waitFor(() => a.handover.paused === 1, 'the answer paused');
    expect(platform.messages.get('m1')?.text).toBe('Held until ');
    // It failed: no record, nothing anyone could take over; the answer goes on with what it kept.
    refuse();
    expect((await asking).ok).toBe(true);
    expect(platform.messages.get('m1')?.final?.text).toBe('Held until its record was known not to exist.');
  });

  it('fails a heartbeat against a database that does not answer, instead of waiting forever', async () => {
    const db = await connectPostgres(url, { maxConnections: 2 });
    databases.push(db);
    const store = await PostgresInFlightStore.open(db, { now: () => clock });
    const impatient = await PostgresInFlightStore.open(db, { now: () => clock, queryTimeoutMs: 200 });
    const questionId = 'hung-heartbeat';
    await store.begin(
      { questionId, platform: 'board', place: { channel: 'C1' }, question: 'q', askerId: 'U1' },
      'H13',
    );
    // Another session holds the record's row: the heartbeat's update waits, as on a hung server.
    const holder = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM rag_answers_in_flight WHERE question_id = $1 FOR UPDATE', [
        questionId,
      ]);
      await expect(impatient.heartbeat('H13', [questionId])).rejects.toThrow(/timeout/i);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    await store.finish(questionId, 'H13');
  });
});

/** An answer with no text until `release` (a model queueing), aborted as the core would be. */
function stalled(text: string) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const answerer: Answerer = {
    async *answer(question: Question): AsyncGenerator<AnswerEvent> {
      const aborted = new Promise<'aborted'>((resolve) =>
        question.signal?.addEventListener('abort', () => resolve('aborted'), { once: true }),
      );
      if ((await Promise.race([released.then(() => 'released' as const), aborted])) === 'aborted') {
        yield { type: 'failure', failure: failures.interrupted('') };
        return;
      }
      yield { type: 'delta', text };
      yield { type: 'done', text, mode: 'groq', degraded: false, timings: TIMINGS, standaloneQuestion: 'q' };
    },
  };
  return { answerer, release };
}

describe.skipIf(!havePostgres)('a Slack answer whose first text is slow', () => {
  it('is recorded once its stream opens empty, and another instance finishes the answer in that message', async () => {
    const slack = await startFakeSlack();
    const client = new WebClient(slack.token, { slackApiUrl: slack.apiURL, retryConfig: { retries: 0 } });
    try {
      const root = slack.addUserMessage('C0SLOW', 'U1', '<@UBOT> How do visitors cross?');
      const conversation = (resume?: SlackResumedReply) =>
        slackConversation({
          client,
          target: { channel: 'C0SLOW', threadTs: root, userId: 'U1' },
          history: async () => [],
          // The empty stream opens as soon as the first text is late: here, at once.
          pacing: { firstTextWaitMs: 0, editIntervalMs: 0, appendIntervalMs: 0 },
          log: silentLogger,
          handover: { history: 'thread', questionTs: root },
          ...(resume ? { resume } : {}),
        });
      const model = stalled('never written by A');
      const a = await instance('SA', model.answerer, board());
      const b = await instance('SB', whole('Visitors cross at gate four.'), board());
      for (const { layer } of [a, b]) {
        layer.resumeOn('slack', async (target) =>
          conversation(target.reply as SlackResumedReply | undefined),
        );
      }
      const asking = a.layer.ask(conversation(), 'How do visitors cross?');
      // No text yet, but the stream is open: the record knows the message.
      await located(a.db);
      const opened = slack
        .messages('C0SLOW')
        .filter((m) => m.thread_ts === root && m.user === slack.botUserId);
      expect(opened).toHaveLength(1);
      expect(opened[0]).toMatchObject({ text: '', streaming: true });

      clock += TAKEOVER_MS + 1;
      expect(await b.handover.takeOver()).toBe(1);
      await waitFor(
        () => slack.messages('C0SLOW').find((m) => m.ts === opened[0]!.ts)?.metadata,
        'B finishing the answer in the opened message',
      );
      const answers = slack
        .messages('C0SLOW')
        .filter((m) => m.thread_ts === root && m.user === slack.botUserId);
      expect(answers.map((m) => m.text)).toEqual(['Visitors cross at gate four.']);
      expect(slack.callsTo('chat.stopStream').filter((call) => call.args.ts === opened[0]!.ts)).toHaveLength(
        1,
      );

      await a.handover.heartbeat();
      model.release();
      expect((await asking).ok).toBe(false);
      expect(slack.messages('C0SLOW').find((m) => m.ts === opened[0]!.ts)?.text).toBe(
        'Visitors cross at gate four.',
      );
    } finally {
      await slack.close();
    }
  });
});
