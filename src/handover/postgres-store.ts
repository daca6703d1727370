/**
 * Answers in flight in PostgreSQL: one row per answer being written, with its owner and the
 * time of its last heartbeat. Times come from the database's clock (instances whose clocks
 * disagree still agree on who fell silent), unless a test injects its own.
 */
import type pg from 'pg';
import type { HandoverData } from '../conversation/conversation.js';
import type { PostgresDatabase } from '../state/postgres.js';
import {
  type InFlightAnswer,
  type InFlightStore,
  type NewInFlightAnswer,
  RecordNotWritten,
} from './types.js';

export const IN_FLIGHT_MIGRATION = 'answers-in-flight-1';

const SCHEMA = `
CREATE TABLE rag_answers_in_flight (
  question_id text PRIMARY KEY,
  platform text NOT NULL,
  workspace_id text,
  place jsonb NOT NULL,
  reply jsonb,
  question text NOT NULL,
  asker_id text NOT NULL,
  via text,
  owner text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  started_at timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL
);
CREATE INDEX rag_answers_in_flight_heartbeat ON rag_answers_in_flight (heartbeat_at);
`;

interface Row {
  question_id: string;
  platform: string;
  workspace_id: string | null;
  place: HandoverData;
  reply: HandoverData | null;
  question: string;
  asker_id: string;
  via: string | null;
  attempts: number;
  started_at: Date;
}

function toAnswer(row: Row): InFlightAnswer {
  return {
    questionId: row.question_id,
    platform: row.platform,
    ...(row.workspace_id ? { workspaceId: row.workspace_id } : {}),
    place: row.place,
    ...(row.reply ? { reply: row.reply } : {}),
    question: row.question,
    askerId: row.asker_id,
    ...(row.via ? { via: row.via } : {}),
    attempts: row.attempts,
    startedAt: row.started_at.getTime(),
  };
}

/**
 * Client-side limit of each query (node-postgres' per-query `query_timeout`): a heartbeat
 * against a hung database or a dead connection fails in time, instead of hanging the heartbeat
 * and every one after it, so the instance knows it is cut off (its answers pause, see tracker.ts)
 * and, once the database is back, that it was.
 */
interface TimedQuery extends pg.QueryConfig {
  readonly query_timeout: number;
}

/**
 * Whether a failed statement certainly did not run: the server answered with an error (a
 * SQLSTATE, five characters: the statement was rolled back), or no connection was made (refused,
 * no such host, the pool's connect timeout). A timeout or a connection lost after the statement
 * was sent leaves its outcome unknown.
 */
function certainlyNotSent(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  // SQLSTATE classes are digits, F0, HV, P0 or XX: never Node's EPIPE or ECONNRESET.
  if (typeof code === 'string' && /^(?:[0-5][0-9A-Z]|F0|HV|P0|XX)[0-9A-Z]{3}$/.test(code)) return true;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return true;
  const message = error instanceof Error ? error.message : '';
  return message.includes('timeout exceeded when trying to connect');
}

/** The time to compare with: the injected clock's (`$n`, epoch ms) or, when null, the database's. */
const at = (n: number) => `coalesce(to_timestamp($${n}::double precision / 1000), now())`;

export class PostgresInFlightStore implements InFlightStore {
  private constructor(
    private readonly db: PostgresDatabase,
    private readonly now: (() => number) | undefined,
    private readonly timeoutMs: number,
  ) {}

  /**
   * `now` is for tests; by default the database's clock decides. `queryTimeoutMs` bounds each
   * query (default 5 s; the tracker's owner passes a third of ANSWER_TAKEOVER_MS, the time
   * between two heartbeats).
   */
  static async open(
    db: PostgresDatabase,
    options: { now?: () => number; queryTimeoutMs?: number } = {},
  ): Promise<PostgresInFlightStore> {
    await db.migrate(IN_FLIGHT_MIGRATION, SCHEMA);
    return new PostgresInFlightStore(db, options.now, options.queryTimeoutMs ?? 5_000);
  }

  private query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    const query: TimedQuery = { text, values, query_timeout: this.timeoutMs };
    return this.db.pool.query<R>(query);
  }

  private time(): number | null {
    return this.now ? this.now() : null;
  }

  async begin(answer: NewInFlightAnswer, owner: string): Promise<void> {
    try {
      await this.insert(answer, owner);
    } catch (error) {
      if (certainlyNotSent(error)) throw new RecordNotWritten('the record was not written', { cause: error });
      throw error;
    }
  }

  private async insert(answer: NewInFlightAnswer, owner: string): Promise<void> {
    await this.query(
      `INSERT INTO rag_answers_in_flight
         (question_id, platform, workspace_id, place, question, asker_id, via, owner, started_at, heartbeat_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ${at(9)}, ${at(9)})
       ON CONFLICT (question_id) DO NOTHING`,
      [
        answer.questionId,
        answer.platform,
        answer.workspaceId ?? null,
        JSON.stringify(answer.place),
        answer.question,
        answer.askerId,
        answer.via ?? null,
        owner,
        this.time(),
      ],
    );
  }

  async located(questionId: string, owner: string, reply: HandoverData): Promise<boolean> {
    const { rowCount } = await this.query(
      'UPDATE rag_answers_in_flight SET reply = $3 WHERE question_id = $1 AND owner = $2',
      [questionId, owner, JSON.stringify(reply)],
    );
    return rowCount === 1;
  }

  async heartbeat(owner: string, questionIds: readonly string[]): Promise<Set<string>> {
    const { rows } = await this.query<{ question_id: string }>(
      `UPDATE rag_answers_in_flight SET heartbeat_at = ${at(3)}
       WHERE owner = $1 AND question_id = ANY($2::text[]) RETURNING question_id`,
      [owner, [...questionIds], this.time()],
    );
    return new Set(rows.map((row) => row.question_id));
  }

  async claimStale(
    owner: string,
    platforms: readonly string[],
    silentMs: number,
  ): Promise<InFlightAnswer | undefined> {
    // The row is locked while claimed (others skip it) and its silence checked again under the
    // lock, so of two instances asking at once exactly one gets it.
    const silent = `heartbeat_at < ${at(4)} - $3 * interval '1 millisecond'`;
    const { rows } = await this.query<Row>(
      `UPDATE rag_answers_in_flight
       SET owner = $1, heartbeat_at = ${at(4)}, attempts = attempts + 1
       WHERE question_id = (
         SELECT question_id FROM rag_answers_in_flight
         WHERE platform = ANY($2::text[]) AND ${silent}
         ORDER BY started_at LIMIT 1 FOR UPDATE SKIP LOCKED
       ) AND ${silent}
       RETURNING *`,
      [owner, [...platforms], silentMs, this.time()],
    );
    return rows[0] ? toAnswer(rows[0]) : undefined;
  }

  async finish(questionId: string, owner: string): Promise<void> {
    await this.query('DELETE FROM rag_answers_in_flight WHERE question_id = $1 AND owner = $2', [
      questionId,
      owner,
    ]);
  }

  async release(questionId: string, owner: string): Promise<void> {
    await this.query(
      `UPDATE rag_answers_in_flight SET heartbeat_at = '-infinity' WHERE question_id = $1 AND owner = $2`,
      [questionId, owner],
    );
  }

  async prune(maxAgeMs: number): Promise<number> {
    const { rowCount } = await this.query(
      `DELETE FROM rag_answers_in_flight WHERE started_at < ${at(2)} - $1 * interval '1 millisecond'`,
      [maxAgeMs, this.time()],
    );
    return rowCount ?? 0;
  }
}
