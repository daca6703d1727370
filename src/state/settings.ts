/** PostgreSQL (DATABASE_URL): the bot's state, and its knowledge without Upstash, for every instance. */
import * as v from 'valibot';
import { defineSettings } from '../settings/area.js';
import { int, trimmed, variable } from '../settings/variables.js';

export interface DatabaseSlice {
  /** DATABASE_URL: PostgreSQL holds the state (and the knowledge, without Upstash) of every instance. */
  readonly database?: {
    readonly url: string;
    /** Silence after which another instance finishes an answer whose instance died (ANSWER_TAKEOVER_MS). */
    readonly answerTakeoverMs: number;
    /** Connections each process may open (DATABASE_POOL_SIZE). */
    readonly poolSize: number;
  };
}

const postgresURL = variable(
  v.optional(
    v.pipe(
      trimmed(),
      v.check(
        (value) => URL.canParse(value) && /^postgres(ql)?:$/.test(new URL(value).protocol),
        'must be a PostgreSQL URL (postgres://user:password@host:5432/database)',
      ),
    ),
  ),
);

export const databaseSettings = defineSettings({
  variables: {
    DATABASE_URL: postgresURL,
    /**
     * With DATABASE_URL: how long an instance answering may stay silent (no heartbeat) before
     * another instance finishes its answers. Heartbeats come every third of it.
     */
    ANSWER_TAKEOVER_MS: int(15_000, 1_000, 600_000),
    /**
     * With DATABASE_URL: connections each bot process keeps open at most. Every instance and
     * every running command (ingest, report) has its own pool: their sum must stay under the
     * server's max_connections (often 25–100 on small managed plans).
     */
    DATABASE_POOL_SIZE: int(10, 1, 500),
  },
  secrets: ['DATABASE_URL'],
  build: (env): DatabaseSlice =>
    env.DATABASE_URL
      ? {
          database: {
            url: env.DATABASE_URL,
            answerTakeoverMs: env.ANSWER_TAKEOVER_MS,
            poolSize: env.DATABASE_POOL_SIZE,
          },
        }
      : {},
});
