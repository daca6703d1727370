/**
 * Answer records in the bot's own database (app.db): one row per answered question, one per
 * voter per answer, and the digests already posted. The SQLite file is the store on purpose:
 * it is beside the knowledge, every process on the host (npm start, its Discord shards, npm
 * run report) opens it in WAL mode, a claim on a digest period is an ordinary unique row, and
 * a team can read or delete its records with any SQLite tool. Instances on several hosts keep
 * one file each (see docs/closing-the-loop.md), or share PostgreSQL (postgres-store.ts).
 */
import { createHash } from 'node:crypto';
import type { Audience } from '../conversation/conversation.js';
import type { AnswerOutcomeKind } from '../conversation/recording.js';
import type { AnswerMode } from '../core/types.js';
import type { AppDatabase } from '../state/app-db.js';
import { type Pseudonymize, pseudonymizer } from './pseudonyms.js';

const SCHEMA = `
CREATE TABLE answer_records (
  question_id TEXT PRIMARY KEY,
  asked_at INTEGER NOT NULL,
  platform TEXT NOT NULL,
  workspace_id TEXT,
  channel_id TEXT,
  thread_id TEXT,
  direct INTEGER NOT NULL,
  asker_id TEXT,
  question TEXT,
  question_hash TEXT NOT NULL,
  standalone TEXT,
  via TEXT,
  outcome TEXT NOT NULL,
  mode TEXT,
  degraded INTEGER NOT NULL,
  sources TEXT NOT NULL,
  condense_ms INTEGER,
  retrieval_ms INTEGER,
  first_token_ms INTEGER,
  total_ms INTEGER,
  link TEXT,
  escalated_at INTEGER
) STRICT;
CREATE INDEX answer_records_asked_at ON answer_records (asked_at);
CREATE TABLE answer_feedback (
  question_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  vote TEXT NOT NULL,
  reason TEXT,
  at INTEGER NOT NULL,
  PRIMARY KEY (question_id, user_id)
) STRICT;
CREATE INDEX answer_feedback_at ON answer_feedback (at);
CREATE TABLE digest_posts (
  destination TEXT NOT NULL,
  period TEXT NOT NULL,
  claimed_at INTEGER NOT NULL,
  posted_at INTEGER,
  PRIMARY KEY (destination, period)
) STRICT;
`;

export interface RecordedSource {
  readonly id: string;
  readonly title: string;
  readonly url?: string;
}

/** One answer as stored. `question` is absent when RECORD_TEXT=false. */
export interface StoredAnswer {
  readonly questionId: string;
  readonly askedAt: number;
  readonly platform: string;
  readonly workspaceId?: string;
  readonly channelId?: string;
  readonly threadId?: string;
  readonly direct: boolean;
  /** The asker's pseudonym (see `RecordStore.pseudonym`). */
  readonly askerId?: string;
  readonly question?: string;
  /** SHA-256 of the normalised question: identical questions group even without text. */
  readonly questionHash: string;
  readonly standalone?: string;
  readonly via?: string;
  readonly outcome: AnswerOutcomeKind;
  readonly mode?: AnswerMode;
  readonly degraded: boolean;
  readonly sources: readonly RecordedSource[];
  readonly timings: {
    readonly condenseMs?: number;
    readonly retrievalMs?: number;
    readonly firstTokenMs?: number;
    readonly totalMs?: number;
  };
  readonly link?: string;
  readonly escalatedAt?: number;
  /**
   * Who could see the conversation when it was answered (see conversation.ts); absent for
   * answers recorded before this was kept, or when the platform could not say.
   */
  readonly audience?: Audience;
}

export interface StoredVote {
  readonly questionId: string;
  /** The voter's pseudonym (see `RecordStore.pseudonym`). */
  readonly userId: string;
  readonly vote: 'up' | 'down';
  readonly reason?: string;
  readonly at: number;
}

/** A vote as cast: it counts only on an answer given on the same platform. */
export interface CastVote extends StoredVote {
  readonly platform: string;
}

/** Normalised for hashing: case, spacing and trailing punctuation do not make a new question. */
export function questionHash(question: string): string {
  const normal = question
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/(?<![?!.\s])[?!.\s]+$/, '');
  return createHash('sha256').update(normal).digest('hex');
}

export type Row = Record<string, unknown>;
const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;
const num = (value: unknown): number | undefined =>
  typeof value === 'number' || typeof value === 'bigint' ? Number(value) : undefined;

export function toAnswer(row: Row): StoredAnswer {
  const optional = <K extends string, V>(key: K, value: V | undefined) =>
    (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;
  return {
    questionId: String(row.question_id),
    askedAt: Number(row.asked_at),
    platform: String(row.platform),
    ...optional('workspaceId', text(row.workspace_id)),
    ...optional('channelId', text(row.channel_id)),
    ...optional('threadId', text(row.thread_id)),
    direct: Number(row.direct) === 1,
    ...optional('askerId', text(row.asker_id)),
    ...optional('question', text(row.question)),
    questionHash: String(row.question_hash),
    ...optional('standalone', text(row.standalone)),
    ...optional('via', text(row.via)),
    outcome: String(row.outcome) as AnswerOutcomeKind,
    ...optional('mode', text(row.mode) as AnswerMode | undefined),
    degraded: Number(row.degraded) === 1,
    sources: JSON.parse(String(row.sources)) as RecordedSource[],
    timings: {
      ...optional('condenseMs', num(row.condense_ms)),
      ...optional('retrievalMs', num(row.retrieval_ms)),
      ...optional('firstTokenMs', num(row.first_token_ms)),
      ...optional('totalMs', num(row.total_ms)),
    },
    ...optional('link', text(row.link)),
    ...optional('escalatedAt', num(row.escalated_at)),
    ...optional('audience', text(row.audience) as Audience | undefined),
  };
}

const ms = (value: number | undefined) => (value === undefined ? null : Math.round(value));

/**
 * Where answer records live: the bot's SQLite file (`RecordStore`), or PostgreSQL with
 * DATABASE_URL (`PostgresRecordStore`), shared by every instance on every host.
 */
export interface AnswerRecords {
  /** People as pseudonyms: a keyed hash of their id (see pseudonyms.ts). */
  readonly pseudonym: Pseudonymize;
  saveAnswer(answer: StoredAnswer): Promise<void>;
  /** Who could see the conversation when it was answered. */
  setAudience(questionId: string, audience: Audience): Promise<void>;
  setLink(questionId: string, link: string): Promise<void>;
  /**
   * A vote, or a reason for one: one row per voter per answer, the latest vote wins and a
   * reason is kept until replaced. Votes on answers never recorded are ignored (false).
   */
  saveVote(vote: CastVote): Promise<boolean>;
  markEscalated(questionId: string, at: number): Promise<void>;
  answer(questionId: string): Promise<StoredAnswer | undefined>;
  /** Answers asked in [from, to), oldest first. */
  answers(from: number, to: number): Promise<StoredAnswer[]>;
  /** Votes on the answers asked in [from, to). */
  votes(from: number, to: number): Promise<StoredVote[]>;
  /** Deletes records asked before `cutoff` and their votes; returns how many answers went. */
  deleteBefore(cutoff: number): Promise<number>;
  /** Claims a digest period for one destination: true for exactly one caller, whoever asks first. */
  claimDigest(destination: string, period: string, at: number): Promise<boolean>;
  digestPosted(destination: string, period: string, at: number): Promise<void>;
  /** Gives a claim back after a failed post, so the next tick tries again. */
  releaseDigest(destination: string, period: string): Promise<void>;
}

/** Reads and writes the records tables; every call is one short statement or transaction. */
export class RecordStore implements AnswerRecords {
  /**
   * People as pseudonyms: a keyed hash of their platform id (or, for the web chat, their
   * address), enough to tell the asker from someone else who replied, never the id itself and
   * never found again by hashing guesses (see pseudonyms.ts).
   */
  readonly pseudonym: Pseudonymize;

  constructor(
    private readonly app: AppDatabase,
    key: Buffer | string,
  ) {
    app.migrate('answer-records-1', SCHEMA);
    this.pseudonym = pseudonymizer(key);
    // Records from before pseudonyms were keyed hold unkeyed hashes, which anyone can reverse by
    // hashing guesses: each is replaced by a keyed hash of itself (nothing else is kept or read).
    const rekey = this.pseudonym;
    app.db.function('rag_rekey_pseudonym', (value) =>
      typeof value === 'string' ? rekey(`legacy:${value}`) : null,
    );
    app.migrate(
      'answer-records-keyed-pseudonyms-1',
      `UPDATE answer_records SET asker_id = rag_rekey_pseudonym(asker_id) WHERE asker_id IS NOT NULL;
       UPDATE answer_feedback SET user_id = rag_rekey_pseudonym(user_id);`,
    );
    app.migrate('answer-records-audience-1', 'ALTER TABLE answer_records ADD COLUMN audience TEXT;');
  }

  async saveAnswer(answer: StoredAnswer): Promise<void> {
    this.app.db
      .prepare(
        `INSERT OR REPLACE INTO answer_records (question_id, asked_at, platform, workspace_id, channel_id,
          thread_id, direct, asker_id, question, question_hash, standalone, via, outcome, mode, degraded,
          sources, condense_ms, retrieval_ms, first_token_ms, total_ms, link, escalated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        answer.questionId,
        answer.askedAt,
        answer.platform,
        answer.workspaceId ?? null,
        answer.channelId ?? null,
        answer.threadId ?? null,
        answer.direct ? 1 : 0,
        answer.askerId ?? null,
        answer.question ?? null,
        answer.questionHash,
        answer.standalone ?? null,
        answer.via ?? null,
        answer.outcome,
        answer.mode ?? null,
        answer.degraded ? 1 : 0,
        JSON.stringify(answer.sources),
        ms(answer.timings.condenseMs),
        ms(answer.timings.retrievalMs),
        ms(answer.timings.firstTokenMs),
        ms(answer.timings.totalMs),
        answer.link ?? null,
        answer.escalatedAt ?? null,
      );
  }

  async setAudience(questionId: string, audience: Audience): Promise<void> {
    this.app.db
      .prepare('UPDATE answer_records SET audience = ? WHERE question_id = ?')
      .run(audience, questionId);
  }

  async setLink(questionId: string, link: string): Promise<void> {
    this.app.db.prepare('UPDATE answer_records SET link = ? WHERE question_id = ?').run(link, questionId);
  }

  /**
   * A vote, or a reason for one: one row per voter per answer, the latest vote wins and a
   * reason is kept until replaced. Votes on answers never recorded, or given on another
   * platform (a web visitor naming a Slack answer's id), are ignored.
   */
  async saveVote(vote: CastVote): Promise<boolean> {
    const result = this.app.db
      .prepare(
        `INSERT INTO answer_feedback (question_id, user_id, vote, reason, at)
         SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM answer_records WHERE question_id = ? AND platform = ?)
         ON CONFLICT (question_id, user_id) DO UPDATE SET
           vote = excluded.vote, at = excluded.at, reason = COALESCE(excluded.reason, answer_feedback.reason)`,
      )
      .run(
        vote.questionId,
        vote.userId,
        vote.vote,
        vote.reason ?? null,
        vote.at,
        vote.questionId,
        vote.platform,
      );
    return Number(result.changes) > 0;
  }

  async markEscalated(questionId: string, at: number): Promise<void> {
    this.app.db
      .prepare('UPDATE answer_records SET escalated_at = COALESCE(escalated_at, ?) WHERE question_id = ?')
      .run(at, questionId);
  }

  async answer(questionId: string): Promise<StoredAnswer | undefined> {
    const row = this.app.db.prepare('SELECT * FROM answer_records WHERE question_id = ?').get(questionId);
    return row ? toAnswer(row as Row) : undefined;
  }

  /** Answers asked in [from, to), oldest first. */
  async answers(from: number, to: number): Promise<StoredAnswer[]> {
    return this.app.db
      .prepare('SELECT * FROM answer_records WHERE asked_at >= ? AND asked_at < ? ORDER BY asked_at')
      .all(from, to)
      .map((row) => toAnswer(row as Row));
  }

  /** Votes on the answers asked in [from, to). */
  async votes(from: number, to: number): Promise<StoredVote[]> {
    return this.app.db
      .prepare(
        `SELECT f.* FROM answer_feedback f JOIN answer_records r ON r.question_id = f.question_id
         WHERE r.asked_at >= ? AND r.asked_at < ?`,
      )
      .all(from, to)
      .map((row) => {
        const r = row as Row;
        const reason = text(r.reason);
        return {
          questionId: String(r.question_id),
          userId: String(r.user_id),
          vote: r.vote === 'up' ? 'up' : 'down',
          ...(reason ? { reason } : {}),
          at: Number(r.at),
        } satisfies StoredVote;
      });
  }

  /** Deletes records asked before `cutoff` and their votes; returns how many answers went. */
  async deleteBefore(cutoff: number): Promise<number> {
    return this.app.transaction(() => {
      const gone = this.app.db.prepare('DELETE FROM answer_records WHERE asked_at < ?').run(cutoff);
      this.app.db
        .prepare(
          `DELETE FROM answer_feedback WHERE at < ?
             OR question_id NOT IN (SELECT question_id FROM answer_records)`,
        )
        .run(cutoff);
      this.app.db.prepare('DELETE FROM digest_posts WHERE claimed_at < ?').run(cutoff);
      return Number(gone.changes);
    });
  }

  /**
   * Claims a digest period for one destination: true for exactly one caller, whichever
   * process or instance on this database asks first (the primary key is the lock).
   */
  async claimDigest(destination: string, period: string, at: number): Promise<boolean> {
    const result = this.app.db
      .prepare(
        'INSERT INTO digest_posts (destination, period, claimed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      )
      .run(destination, period, at);
    return Number(result.changes) === 1;
  }

  async digestPosted(destination: string, period: string, at: number): Promise<void> {
    this.app.db
      .prepare('UPDATE digest_posts SET posted_at = ? WHERE destination = ? AND period = ?')
      .run(at, destination, period);
  }

  /** Gives a claim back after a failed post, so the next tick tries again. */
  async releaseDigest(destination: string, period: string): Promise<void> {
    this.app.db
      .prepare('DELETE FROM digest_posts WHERE destination = ? AND period = ? AND posted_at IS NULL')
      .run(destination, period);
  }
}
