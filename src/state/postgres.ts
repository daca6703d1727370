/**
 * The bot's PostgreSQL database (DATABASE_URL): one connection pool per process (node-postgres),
 * shared by the knowledge store and every feature's state. Each feature creates its tables
 * through `migrate`, once per database, whichever instance gets there first: migrations run
 * under a transaction-scoped advisory lock, so instances starting at the same moment wait for
 * each other instead of racing. This module is loaded only when DATABASE_URL is set.
 */
import pg from 'pg';
import { type Logger, silentLogger } from '../log.js';
import { DatabaseError } from './database-error.js';

export interface PostgresOptions {
  readonly logger?: Logger;
  /** Connections this process may hold (default 10). */
  readonly maxConnections?: number;
  /** Tables live in this schema instead of the user's default one (created when missing). */
  readonly schema?: string;
  /** How long to wait for a connection before a query fails (default 5 s). */
  readonly connectTimeoutMs?: number;
  /**
   * How long the first connection may wait for a server that is not up yet (refused, not
   * resolvable yet, starting up), trying again with growing pauses; 0 (default) fails at once.
   * A server that refuses the credentials, or has no such database, fails at once either way.
   */
  readonly waitForServerMs?: number;
  /** Pauses between those attempts (tests pass their own). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** The clock the wait is measured by (tests pass their own). */
  readonly now?: () => number;
}

export { DatabaseError };

export type Queryable = Pick<pg.PoolClient, 'query'>;

export interface PostgresDatabase {
  /** Where it is, for logs and banners: `host:port/database`, never the password. */
  readonly description: string;
  readonly pool: pg.Pool;
  /** Runs `sql` once per database, remembered under `name`; safe when instances start together. */
  migrate(name: string, sql: string): Promise<void>;
  /**
   * Runs `work` in one transaction on one connection; rolled back if it throws. With
   * `queryTimeoutMs`, BEGIN and COMMIT are given up on (client side) past it, as `work`'s own
   * statements should be.
   */
  transaction<T>(
    work: (client: pg.PoolClient) => Promise<T>,
    options?: { queryTimeoutMs?: number },
  ): Promise<T>;
  close(): Promise<void>;
}

/** `host:port/database` of a URL, for people; the user name and password are left out. */
export function describeDatabase(url: string): string {
  try {
    const parsed = new URL(url);
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres';
    return `${parsed.hostname}:${parsed.port || '5432'}/${database}`;
  } catch {
    return 'DATABASE_URL';
  }
}

const QUOTED_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** A 64-bit advisory lock key for a name, computed by the server so every instance agrees. */
export const LOCK_KEY_SQL = "hashtextextended('rag-chat-bot:' || $1, 0)";

/** Says what went wrong in words an operator can act on; never echoes the URL's password. */
export function databaseProblem(error: unknown, where: string): DatabaseError {
  const code = (error as { code?: string }).code;
  const message = (error as Error).message ?? String(error);
  if (code === '28P01' || code === '28000')
    return new DatabaseError(`PostgreSQL at ${where} refused the user name or password in DATABASE_URL`);
  if (code === '3D000') return new DatabaseError(`PostgreSQL at ${where}: the database does not exist`);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ETIMEDOUT')
    return new DatabaseError(
      `PostgreSQL at ${where} is not reachable (${code}): check that the server is running and that DATABASE_URL names its host and port`,
    );
  if (code === '57P03')
    return new DatabaseError(`PostgreSQL at ${where} is still starting up or shutting down`);
  if (/timeout exceeded when trying to connect/i.test(message))
    return new DatabaseError(`PostgreSQL at ${where} did not accept a connection in time`);
  return new DatabaseError(`PostgreSQL at ${where}: ${message}`);
}

/**
 * Failures of a server that may yet come up: refused or unresolvable (a container not started
 * yet), starting up (57P03), out of connection slots (53300), or slow to accept. Wrong
 * credentials or a missing database will not mend themselves by waiting.
 */
export function mayComeUp(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  if (code === '28P01' || code === '28000' || code === '3D000') return false;
  if (code === '57P03' || code === '53300') return true;
  if (
    code &&
    ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH'].includes(code)
  )
    return true;
  const message = (error as Error).message ?? '';
  return /timeout exceeded when trying to connect|Connection terminated/i.test(message);
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** How long a failed transaction's ROLLBACK may take before its connection is closed instead. */
const ROLLBACK_TIMEOUT_MS = 2_000;
/** node-postgres' error for a statement given up on past its `query_timeout` (it has no code). */
const CLIENT_TIMEOUT_MESSAGE = 'Query read timeout';

export async function connectPostgres(url: string, options: PostgresOptions = {}): Promise<PostgresDatabase> {
  const log = options.logger ?? silentLogger;
  const where = describeDatabase(url);
  const schema = options.schema;
  if (schema !== undefined && !QUOTED_IDENTIFIER.test(schema))
    throw new DatabaseError(`not a schema name: ${schema}`);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: 60_000,
    // A connection whose server vanished (a host down, a partition) is noticed by TCP and
    // dropped, rather than kept in the pool until a query on it times out.
    keepAlive: true,
    // Idle connections never keep a finished command (ingest, report) from exiting.
    allowExitOnIdle: true,
    application_name: 'rag-chat-bot',
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // A connection that breaks while idle (the server restarted) is dropped from the pool and
  // replaced on next use; without a listener the pool's error would end the process.
  let warned = false;
  pool.on('error', (error) => {
    if (!warned) log.warn({ err: error, database: where }, 'a PostgreSQL connection was lost; reconnecting');
    warned = true;
  });
  pool.on('connect', () => {
    warned = false;
  });
  // The first connection: with `waitForServerMs`, a server that is not up yet (started beside
  // the bot, restarting) is tried again with growing pauses, said once in the log.
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const giveUpAt = now() + (options.waitForServerMs ?? 0);
  for (let attempt = 1; ; attempt++) {
    try {
      if (schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await pool.query('SELECT 1');
      if (attempt > 1) log.info({ database: where, attempts: attempt }, 'PostgreSQL is reachable now');
      break;
    } catch (error) {
      const pause = Math.min(500 * 2 ** (attempt - 1), 5_000);
      if (!mayComeUp(error) || now() + pause > giveUpAt) {
        await pool.end().catch(() => undefined);
        throw databaseProblem(error, where);
      }
      if (attempt === 1) {
        const seconds = Math.round((giveUpAt - now()) / 1000);
        log.warn(
          { database: where, reason: databaseProblem(error, where).message },
          `PostgreSQL is not reachable yet; trying again for up to ${seconds} s`,
        );
      }
      await sleep(pause);
    }
  }
  log.debug({ database: where }, 'connected to PostgreSQL');

  const transaction = async <T>(
    work: (client: pg.PoolClient) => Promise<T>,
    options: { queryTimeoutMs?: number } = {},
  ): Promise<T> => {
    const client = await pool.connect();
    let broken: Error | undefined;
    const statement = (text: string): pg.QueryConfig =>
      options.queryTimeoutMs ? ({ text, query_timeout: options.queryTimeoutMs } as pg.QueryConfig) : { text };
    try {
      await client.query(statement('BEGIN'));
      const result = await work(client);
      await client.query(statement('COMMIT'));
      return result;
    } catch (error) {
      // After a statement given up on client side (query_timeout) the connection still waits for
      // its answer, and a ROLLBACK would queue behind it for ever: the rollback gets a time limit,
      // and a connection it cannot roll back is closed (the server then rolls back) rather than
      // handed to the next query with a transaction still open.
      if ((error as Error).message === CLIENT_TIMEOUT_MESSAGE) {
        broken = error as Error;
      } else {
        const rollback: pg.QueryConfig & { query_timeout: number } = {
          text: 'ROLLBACK',
          query_timeout: ROLLBACK_TIMEOUT_MS,
        };
        await client.query(rollback).catch((rollbackError: Error) => {
          broken = rollbackError;
        });
      }
      throw error;
    } finally {
      client.release(broken);
    }
  };

  const applied = new Set<string>();
  return {
    description: where,
    pool,
    transaction,
    async migrate(name, sql) {
      if (applied.has(name)) return;
      await transaction(async (client) => {
        await client.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY_SQL})`, ['migrations']);
        await client.query(
          'CREATE TABLE IF NOT EXISTS rag_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
        );
        const done = await client.query('SELECT 1 FROM rag_migrations WHERE name = $1', [name]);
        if (done.rowCount === 0) {
          await client.query(sql);
          await client.query('INSERT INTO rag_migrations (name) VALUES ($1)', [name]);
          log.info({ migration: name, database: where }, 'applied a database migration');
        }
      });
      applied.add(name);
    },
    close: () => pool.end(),
  };
}
