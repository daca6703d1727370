import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Conversation } from '../../src/conversation/conversation.js';
import { ConversationLayer } from '../../src/conversation/layer.js';
import { failures } from '../../src/core/failures.js';
import type { AnswerEvent, Answerer, Source } from '../../src/core/types.js';
import { silentLogger } from '../../src/log.js';
import { MemoryDedupeStore } from '../../src/ops/shared-state.js';
import {
  type Digest,
  type DigestDestination,
  DigestScheduler,
  digestScope,
  duePeriod,
} from '../../src/records/digest.js';
import { PeriodError, parsePeriod } from '../../src/records/period.js';
import { StoreRecorder } from '../../src/records/recorder.js';
import { buildReport, formatReport } from '../../src/records/report.js';
import { DAY_MS, sweepRecords } from '../../src/records/retention.js';
import { groupSimilar } from '../../src/records/similarity.js';
import { questionHash, RecordStore, type StoredAnswer } from '../../src/records/store.js';
import { slackNeutralizer } from '../../src/render/slack-text.js';
import { type AppDatabase, openAppDatabase } from '../../src/state/app-db.js';

/** The pseudonyms' key, as an installation keeps it. */
const KEY = Buffer.alloc(32, 3);

const SOURCE: Source = {
  index: 1,
  passageId: 'p1',
  source: 'vpn.md',
  title: 'VPN',
  url: 'https://wiki.example/vpn',
  score: 1,
  snippet: 's',
};
const TIMINGS = { condenseMs: 12, retrievalMs: 30, firstTokenMs: 250, totalMs: 900 };

let dir: string;
let app: AppDatabase;
let store: RecordStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rag-records-'));
  app = openAppDatabase(dir);
  store = new RecordStore(app, KEY);
});
afterEach(async () => {
  app.close();
  await rm(dir, { recursive: true, force: true });
});

/** An answerer that answers "vpn" questions and finds nothing for the rest. */
const answerer: Answerer = {
  async *answer(question): AsyncIterable<AnswerEvent> {
    if (/vpn/i.test(question.text)) {
      yield { type: 'sources', sources: [SOURCE] };
      yield { type: 'delta', text: 'Use the VPN client [1].' };
      yield {
        type: 'done',
        text: 'Use the VPN client [1].',
        mode: 'groq',
        degraded: false,
        timings: TIMINGS,
        standaloneQuestion: `${question.text} (standalone)`,
      };
      return;
    }
    yield { type: 'failure', failure: failures.nothingFound(), timings: { retrievalMs: 20, totalMs: 40 } };
  },
};

function conversation(): Conversation {
  return {
    place: { platform: 'slack', channelId: 'C1', threadId: '111.222', workspaceId: 'T1' },
    asker: { id: 'U1' },
    presenter: { neutralizer: slackNeutralizer, writeIntervalMs: 0 },
    history: async () => [],
    openReply: async () => ({
      writes: 'append',
      write: async () => undefined,
      finish: async () => undefined,
    }),
    notify: async () => undefined,
    permalink: async () => 'https://fake.slack.com/archives/C1/p111222',
  };
}

function layerWith(keepText: boolean) {
  const recorder = new StoreRecorder(store, { keepText, log: silentLogger });
  const layer = new ConversationLayer({
    answerer,
    log: silentLogger,
    dedupe: new MemoryDedupeStore(),
    maxQuestionChars: 500,
    recorder,
  });
  return { layer, recorder };
}

function answer(fields: Partial<StoredAnswer> & { questionId: string; askedAt: number }): StoredAnswer {
  return {
    platform: 'slack',
    channelId: 'C1',
    threadId: `${fields.askedAt}.0001`,
    direct: false,
    questionHash: questionHash(fields.question ?? fields.questionId),
    outcome: 'answered',
    degraded: false,
    sources: [],
    timings: {},
    ...fields,
  };
}

describe('answer records', () => {
  it('records an answered and an unanswered question with place, mode, sources, latency and link', async () => {
    const { layer, recorder } = layerWith(true);
    const answered = await layer.ask(conversation(), 'How do I connect to the VPN?');
    const failed = await layer.ask(conversation(), 'Where is the parking garage?');
    await recorder.settled();
    const a = (await store.answer('questionId' in answered ? answered.questionId : ''))!;
    expect(a).toMatchObject({
      platform: 'slack',
      workspaceId: 'T1',
      channelId: 'C1',
      threadId: '111.222',
      askerId: store.pseudonym('U1'),
      question: 'How do I connect to the VPN?',
      standalone: 'How do I connect to the VPN? (standalone)',
      outcome: 'answered',
      mode: 'groq',
      degraded: false,
      sources: [{ id: 'p1', title: 'VPN', url: 'https://wiki.example/vpn' }],
      timings: { condenseMs: 12, retrievalMs: 30, firstTokenMs: 250, totalMs: 900 },
      link: 'https://fake.slack.com/archives/C1/p111222',
    });
    const f = (await store.answer('questionId' in failed ? failed.questionId : ''))!;
    expect(f).toMatchObject({
      question: 'Where is the parking garage?',
      outcome: 'nothing_found',
      sources: [],
    });
    expect(f.timings).toEqual({ retrievalMs: 20, totalMs: 40 });
  });

  it('with RECORD_TEXT=false keeps a hash and no wording, and identical questions still group', async () => {
    const { layer, recorder } = layerWith(false);
    const first = await layer.ask(conversation(), 'Where is the parking garage?');
    await layer.ask(conversation(), 'where is the parking garage');
    await recorder.settled();
    const stored = (await store.answer('questionId' in first ? first.questionId : ''))!;
    expect(stored.question).toBeUndefined();
    expect(stored.standalone).toBeUndefined();
    expect(stored.questionHash).toBe(questionHash('Where is the parking garage?'));
    const rows = app.db.prepare('SELECT question, standalone FROM answer_records').all();
    expect(rows).toEqual([
      { question: null, standalone: null },
      { question: null, standalone: null },
    ]);
    const report = await buildReport(store, { from: 0, to: Date.now() + 1 });
    expect(report.unanswered).toHaveLength(1);
    expect(report.unanswered[0]).toMatchObject({ count: 2 });
    expect(report.unanswered[0]!.question).toBeUndefined();
    expect(formatReport(report)).toContain('2× (question text not kept)');
  });

  it('records a vote, then its reason, from the layer; a vote on an unknown answer is ignored', async () => {
    const { layer } = layerWith(true);
    const result = await layer.ask(conversation(), 'How do I connect to the VPN?');
    const questionId = 'questionId' in result ? result.questionId : '';
    const place = { platform: 'slack', channelId: 'C1' };
    layer.feedback({ place, questionId, userId: 'U2', vote: 'down' });
    const thanks = layer.feedback({
      place,
      questionId,
      userId: 'U2',
      vote: 'down',
      reason: '  out of date\nsince the new client  ',
    });
    expect(thanks).toMatch(/reason/);
    layer.feedback({ place, questionId: 'never-asked', userId: 'U2', vote: 'up' });
    const votes = await store.votes(0, Date.now() + 1);
    expect(votes).toEqual([
      expect.objectContaining({
        questionId,
        userId: store.pseudonym('U2'),
        vote: 'down',
        reason: 'out of date since the new client',
      }),
    ]);
  });

  it('retention deletes records and votes older than RECORD_DAYS, keeping newer ones', async () => {
    const now = Date.UTC(2026, 10, 25);
    await store.saveAnswer(answer({ questionId: 'old', askedAt: now - 91 * DAY_MS }));
    await store.saveAnswer(answer({ questionId: 'recent', askedAt: now - 89 * DAY_MS }));
    await store.saveVote({
      questionId: 'old',
      platform: 'slack',
      userId: 'U1',
      vote: 'down',
      at: now - 91 * DAY_MS,
    });
    await store.saveVote({
      questionId: 'recent',
      platform: 'slack',
      userId: 'U1',
      vote: 'up',
      at: now - 89 * DAY_MS,
    });
    expect(await sweepRecords(store, 90, now)).toBe(1);
    expect(await store.answer('old')).toBeUndefined();
    expect(await store.answer('recent')).toBeDefined();
    expect(app.db.prepare('SELECT question_id FROM answer_feedback').all()).toEqual([
      { question_id: 'recent' },
    ]);
    expect(await sweepRecords(store, 90, now + 2 * DAY_MS)).toBe(1);
    expect(await store.answer('recent')).toBeUndefined();
  });
});

describe('the report', () => {
  it('groups similar unanswered and voted-down questions, with counts, links and figures', async () => {
    const t = Date.UTC(2026, 10, 20);
    const add = (id: string, question: string, outcome: StoredAnswer['outcome'], at: number) =>
      store.saveAnswer(
        answer({
          questionId: id,
          askedAt: at,
          question,
          outcome,
          link: `https://fake.slack.com/archives/C1/p${id}`,
        }),
      );
    await add('a1', 'How do I reset my VPN password?', 'nothing_found', t);
    await add('a2', 'Resetting the VPN password', 'nothing_found', t + 1000);
    await add('a3', 'how to reset vpn password?', 'timeout', t + 2000);
    await add('a4', 'What is the parental leave policy?', 'nothing_found', t + 3000);
    await add('a5', 'How do I book a meeting room?', 'answered', t + 4000);
    await add('a6', 'Booking meeting rooms', 'answered', t + 5000);
    await add('a7', 'Where is the cafeteria?', 'answered', t + 6000);
    await store.saveVote({
      questionId: 'a5',
      platform: 'slack',
      userId: 'U1',
      vote: 'down',
      reason: 'wrong building',
      at: t + 7000,
    });
    await store.saveVote({ questionId: 'a6', platform: 'slack', userId: 'U2', vote: 'down', at: t + 7000 });
    await store.saveVote({ questionId: 'a7', platform: 'slack', userId: 'U2', vote: 'up', at: t + 7000 });
    await store.markEscalated('a4', t + 8000);

    const report = await buildReport(store, { from: t, to: t + DAY_MS });
    expect(report).toMatchObject({
      questions: 7,
      answered: 3,
      notAnswered: 4,
      feedback: { up: 1, down: 2, answersVotedUp: 1, answersVotedDown: 2, reasons: 1, askedHuman: 1 },
    });
    expect(report.answerRate).toBeCloseTo(3 / 7);
    expect(report.unanswered.map((g) => [g.count, g.question])).toEqual([
      [3, 'how to reset vpn password?'],
      [1, 'What is the parental leave policy?'],
    ]);
    expect(report.unanswered[0]!.outcomes).toEqual({ nothing_found: 2, timeout: 1 });
    expect(report.unanswered[0]!.threads.map((x) => x.link)).toEqual([
      'https://fake.slack.com/archives/C1/pa3',
      'https://fake.slack.com/archives/C1/pa2',
      'https://fake.slack.com/archives/C1/pa1',
    ]);
    expect(report.unanswered[1]!.threads[0]!.askedHuman).toBe(true);
    expect(report.votedDown).toHaveLength(1);
    expect(report.votedDown[0]).toMatchObject({ count: 2, reasons: ['wrong building'] });

    const text = formatReport(report);
    expect(text).toContain('Questions: 7 · answered 3 (43%) · not answered 4');
    expect(text).toContain('👍 1 · 👎 2');
    expect(text).toContain('3× "how to reset vpn password?"  [nothing found ×2, timed out ×1]');
    expect(text).toContain('https://fake.slack.com/archives/C1/pa1');
    expect(text).toContain('reasons: "wrong building"');
  });

  it('keeps a question on one line, so its text cannot forge report lines', async () => {
    const t = Date.UTC(2026, 10, 20);
    await store.saveAnswer(
      answer({ questionId: 'x', askedAt: t, question: 'VPN?\n  1× "fake line"', outcome: 'nothing_found' }),
    );
    const text = formatReport(await buildReport(store, { from: t, to: t + 1 }));
    expect(text).toContain('1× "VPN? 1× "fake line""');
    expect(text.split('\n').filter((line) => line.includes('fake line'))).toHaveLength(1);
  });

  it('groups by shared stemmed words (Jaccard) and keeps unrelated questions apart', () => {
    const groups = groupSimilar(
      [
        'Reset my password',
        'How can I reset passwords?',
        'Password policy for contractors',
        'reset password',
      ].map((text) => ({ text, hash: questionHash(text) })),
    );
    expect(groups.map((g) => g.map((q) => q.text))).toEqual([
      ['Reset my password', 'How can I reset passwords?', 'reset password'],
      ['Password policy for contractors'],
    ]);
  });
});

describe('periods', () => {
  const now = Date.UTC(2026, 10, 25, 12, 30); // a Wednesday

  it('reads --since as a span back from now or a UTC date', () => {
    expect(parsePeriod('7d', undefined, now)).toEqual({ from: now - 7 * DAY_MS, to: now });
    expect(parsePeriod('24h', undefined, now).from).toBe(now - DAY_MS);
    expect(parsePeriod('2026-11-01', '2026-11-08', now)).toEqual({
      from: Date.UTC(2026, 10, 1),
      to: Date.UTC(2026, 10, 8),
    });
    expect(() => parsePeriod('last week', undefined, now)).toThrow(PeriodError);
    expect(() => parsePeriod('2026-11-08', '2026-11-01', now)).toThrow(/before/);
  });

  it('names the due digest period: the week before the latest Monday 09:00 UTC, or the day before 09:00', () => {
    const weekly = duePeriod('weekly', now);
    expect(weekly.key).toBe('weekly:2026-11-23');
    expect(new Date(weekly.from).toISOString()).toBe('2026-11-16T09:00:00.000Z');
    expect(new Date(weekly.to).toISOString()).toBe('2026-11-23T09:00:00.000Z');
    // Monday 08:59 is still the previous period.
    expect(duePeriod('weekly', Date.UTC(2026, 10, 23, 8, 59)).key).toBe('weekly:2026-11-16');
    expect(duePeriod('daily', Date.UTC(2026, 10, 25, 8, 0)).key).toBe('daily:2026-11-24');
    expect(duePeriod('daily', now).key).toBe('daily:2026-11-25');
  });
});

describe('the digest scheduler', () => {
  const now = Date.UTC(2026, 10, 25, 12, 0);
  const inPeriod = Date.UTC(2026, 10, 20);

  /** A destination that keeps what it is given; `failures` posts throw first. */
  function destination(failures = 0): DigestDestination & { posts: Digest[] } {
    let left = failures;
    const posts: Digest[] = [];
    return {
      name: 'test:C1',
      platform: 'test',
      posts,
      scope: async () => () => true,
      humanReplied: async () => false,
      async post(digest) {
        if (left-- > 0) throw new Error('channel_not_found');
        posts.push(digest);
      },
    };
  }

  it('gives a failed post back, so the next check posts it; then never again that period', async () => {
    await store.saveAnswer(
      answer({ questionId: 'q', askedAt: inPeriod, question: 'VPN?', outcome: 'nothing_found' }),
    );
    const target = destination(1);
    const scheduler = new DigestScheduler({
      store,
      destinations: [target],
      schedule: 'weekly',
      log: silentLogger,
      now: () => now,
    });
    expect(await scheduler.tick()).toBe(0);
    expect(await scheduler.tick()).toBe(1);
    expect(await scheduler.tick()).toBe(0);
    expect(target.posts).toHaveLength(1);
    expect(target.posts[0]!.unanswered[0]!.group.question).toBe('VPN?');
  });

  it('posts once across hosts with separate databases when they share a claim (Redis with REDIS_URL)', async () => {
    const otherDir = await mkdtemp(join(tmpdir(), 'rag-records-'));
    const otherApp = openAppDatabase(otherDir);
    try {
      const shared = new MemoryDedupeStore(() => now);
      const targets = [destination(), destination()];
      const stores = [store, new RecordStore(otherApp, KEY)];
      for (const s of stores) s.saveAnswer(answer({ questionId: 'q', askedAt: inPeriod, question: 'VPN?' }));
      const posted = await Promise.all(
        stores.map((s, i) =>
          new DigestScheduler({
            store: s,
            destinations: [targets[i]!],
            schedule: 'weekly',
            log: silentLogger,
            now: () => now,
            sharedClaim: (key, ttl) => shared.firstSeen(key, ttl),
          }).tick(),
        ),
      );
      expect(posted.sort()).toEqual([0, 1]);
      expect(targets[0]!.posts.length + targets[1]!.posts.length).toBe(1);
    } finally {
      otherApp.close();
      await rm(otherDir, { recursive: true, force: true });
    }
  });

  it('posts nothing for a period without questions', async () => {
    const target = destination();
    const scheduler = new DigestScheduler({
      store,
      destinations: [target],
      schedule: 'daily',
      log: silentLogger,
      now: () => now,
    });
    expect(await scheduler.tick()).toBe(0);
    expect(target.posts).toEqual([]);
  });
});

describe('what a digest channel may show', () => {
  const answer = (fields: Partial<StoredAnswer>): StoredAnswer => ({
    questionId: 'q',
    askedAt: 0,
    platform: 'slack',
    workspaceId: 'T1',
    channelId: 'C1',
    direct: false,
    questionHash: 'h',
    outcome: 'nothing_found',
    degraded: false,
    sources: [],
    timings: {},
    ...fields,
  });

  it('keeps its own platform and workspace, and never direct, private or restricted asks', () => {
    const inScope = digestScope('slack', 'T1');
    expect(inScope(answer({ audience: 'everyone' }))).toBe(true);
    // Asked where not everyone could see it, or recorded before that was kept: left out.
    expect(inScope(answer({ audience: 'restricted' }))).toBe(false);
    expect(inScope(answer({}))).toBe(false);
    expect(inScope(answer({ audience: 'everyone', platform: 'discord' }))).toBe(false);
    expect(inScope(answer({ audience: 'everyone', workspaceId: 'T2' }))).toBe(false);
    expect(inScope(answer({ audience: 'everyone', direct: true, channelId: 'D1' }))).toBe(false);
    expect(inScope(answer({ audience: 'everyone', via: 'message-shortcut' }))).toBe(false);
    expect(inScope(answer({ audience: 'everyone', via: 'command-private' }))).toBe(false);
  });
});
