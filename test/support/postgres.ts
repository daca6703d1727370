/**
 * A database of its own for each test file, on the suite's PostgreSQL server (see
 * global-setup.ts), so files run in parallel without seeing each other's rows. Created empty
 * from `template0`: the code under test runs its own migrations, as on a fresh deployment.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, inject } from 'vitest';

/** The server's superuser URL; empty when PostgreSQL is not available (tests then skip). */
export const serverURL = inject('databaseURL');
export const havePostgres = serverURL !== '';

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverURL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new empty database; its URL. Dropped (with any connection left open) after the file. */
export async function createTestDatabase(label = 'test'): Promise<string> {
  const name = `t_${label
    .replace(/[^a-z0-9]+/gi, '_')
    .toLowerCase()
    .slice(0, 30)}_${randomBytes(5).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name} TEMPLATE template0`));
  afterAll(() => admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));
  const url = new URL(serverURL);
  url.pathname = `/${name}`;
  return url.href;
}

/**
 * Whether every answer in flight in the database at `url` has its reply's message recorded.
 * An instance records it just after its first write; killed before that, its answer is
 * finished by another in a new message. Tests that kill an instance to see its own message
 * finished wait for this first.
 */
export async function answersLocated(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ open: number; located: number }>(
      'SELECT count(*)::int AS open, count(reply)::int AS located FROM rag_answers_in_flight',
    );
    return rows[0]!.open > 0 && rows[0]!.open === rows[0]!.located;
  } finally {
    await client.end();
  }
}
