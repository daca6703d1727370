/**
 * `npm run db:copy`: moves a host's embedded data (RAG_DATA_DIR: the local store and app.db)
 * into DATABASE_URL, so a team outgrowing one machine keeps its knowledge, answer records,
 * routes and Slack installations. Idempotent: passages already there (same id and content) are
 * left as they are, rows already there are kept, so it can be run again after an interruption,
 * or once more just before switching the bot over. Shows progress and ends with a summary.
 * A collection both hold must belong to the same workspace or server on both (or to none,
 * the operator's): two tenants' collections of one name are never merged, the copy stops
 * before writing anything and names them.
 * Exit codes: 0 done, 1 a collection's owners differ, 2 usage, configuration or database problems.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { loadConfig } from '../config.js';
import type { Chunk } from '../core/types.js';
import { postgresRouteStore } from '../knowledge/routes-store.js';
import { PostgresLearningRepository, PostgresSourceRepository } from '../knowledge/sources-postgres.js';
import { postgresRecords } from '../platforms/slack/installations.js';
import { PostgresRecordStore, RECORDS_MIGRATION, RECORDS_SCHEMA } from '../records/postgres-store.js';
import { loadPseudonymKey, PSEUDONYM_KEY_FILE } from '../records/pseudonyms.js';
import { openAppDatabase } from '../state/app-db.js';
import { DatabaseError } from '../state/database-error.js';
import { connectPostgres, type PostgresDatabase } from '../state/postgres.js';
import { STORE_FILE } from '../stores/local/index.js';
import { loadSqlite } from '../stores/local/sqlite.js';
import { PostgresStore } from '../stores/postgres/index.js';
import { postgresTenantSettings } from '../tenants/settings-store.js';
import { runCommand } from './run.js';

const USAGE = `Copy this host's embedded data (RAG_DATA_DIR) into the PostgreSQL database DATABASE_URL.

  npm run db:copy

Copies the local store's passages (every collection), the pseudonym key the records were kept
under, and, from app.db, the answer records with
their votes and digest claims, the /kb use routes, each workspace's /kb settings, the sources
with their items' sync state (keeping their numbers), the collections' owners, /kb learn's
channels and threads, and the Slack installations (still encrypted).
Safe to run again: what is already there is kept, nothing is copied twice.
A collection the database already has must have the same owner here (the workspace or server
that took it from its chat, or none): otherwise nothing is copied and the collection is named.`;

const BATCH = 1_000;

interface Line {
  readonly what: string;
  copied: number;
  present: number;
}

type Row = Record<string, unknown>;

function hasTable(db: DatabaseSync, name: string): boolean {
  return (
    db.prepare("SELECT 1 AS yes FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined
  );
}

/** Every passage of the local store, collection by collection, in the order they were written. */
async function copyPassages(dir: string, db: PostgresDatabase, out: NodeJS.WriteStream): Promise<Line[]> {
  const file = join(dir, STORE_FILE);
  if (!existsSync(file)) return [];
  const { DatabaseSync } = loadSqlite();
  const source = new DatabaseSync(file, { readOnly: true });
  const lines: Line[] = [];
  try {
    const store = await PostgresStore.open({ db });
    const total = Number((source.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n);
    const bar = out.isTTY
      ? new cliProgress.SingleBar(
          { format: ' passages [{bar}] {value}/{total}', stream: out, clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
    bar?.start(total, 0);
    let done = 0;
    const collections = source
      .prepare('SELECT DISTINCT collection FROM chunks ORDER BY collection')
      .all() as {
      collection: string;
    }[];
    for (const { collection } of collections) {
      const target = store.collection(collection);
      const before = (await target.stats()).vectorCount;
      const line: Line = { what: `passages in ${collection}`, copied: 0, present: 0 };
      let batch: Chunk[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        await target.upsert(batch);
        done += batch.length;
        batch = [];
        bar?.update(done);
        if (!bar)
          out.write(`  ${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} passages\n`);
      };
      const rows = source
        .prepare(
          'SELECT id, source, title, url, text, metadata FROM chunks WHERE collection = ? ORDER BY rowid',
        )
        .iterate(collection) as Iterable<Row>;
      let count = 0;
      for (const row of rows) {
        count += 1;
        batch.push({
          id: String(row.id),
          source: String(row.source),
          ...(row.title ? { title: String(row.title) } : {}),
          ...(row.url ? { url: String(row.url) } : {}),
          text: String(row.text),
          metadata: JSON.parse(String(row.metadata)) as Record<string, unknown>,
        });
        if (batch.length >= BATCH) await flush();
      }
      await flush();
      const added = (await target.stats()).vectorCount - before;
      line.copied = added;
      line.present = count - added;
      lines.push(line);
    }
    bar?.stop();
  } finally {
    source.close();
  }
  return lines;
}

/** Whose each collection is: the workspace or server that took it from its chat, or null (the operator's). */
type Owners = Map<string, string | null>;

/** The collections this host's data folder uses (passages, sources, owners), with their owners. */
function localOwners(dir: string): Owners {
  const owners: Owners = new Map();
  const { DatabaseSync } = loadSqlite();
  const read = (file: string, work: (db: DatabaseSync) => void) => {
    if (!existsSync(file)) return;
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      work(db);
    } finally {
      db.close();
    }
  };
  const used = (db: DatabaseSync, table: string) => {
    if (!hasTable(db, table)) return;
    for (const row of db.prepare(`SELECT DISTINCT collection FROM ${table}`).all() as {
      collection: string;
    }[])
      if (!owners.has(row.collection)) owners.set(row.collection, null);
  };
  read(join(dir, STORE_FILE), (db) => used(db, 'chunks'));
  read(join(dir, 'app.db'), (db) => {
    used(db, 'knowledge_sources');
    if (!hasTable(db, 'knowledge_collection_owners')) return;
    for (const row of db.prepare('SELECT collection, owner FROM knowledge_collection_owners').all() as {
      collection: string;
      owner: string;
    }[])
      owners.set(row.collection, row.owner);
  });
  return owners;
}

/** The same for `collections` in the database: those it already uses, with their owners. */
async function databaseOwners(db: PostgresDatabase, collections: readonly string[]): Promise<Owners> {
  await PostgresStore.open({ db });
  await PostgresSourceRepository.open(db);
  const { rows } = await db.pool.query<{ collection: string; owner: string | null }>(
    `SELECT c.collection, o.owner FROM unnest($1::text[]) AS c(collection)
     LEFT JOIN knowledge_collection_owners o ON o.collection = c.collection
     WHERE o.owner IS NOT NULL
        OR EXISTS (SELECT 1 FROM knowledge_sources s WHERE s.collection = c.collection)
        OR EXISTS (SELECT 1 FROM knowledge_chunks k WHERE k.collection = c.collection)`,
    [[...collections]],
  );
  return new Map(rows.map((row) => [row.collection, row.owner]));
}

/**
 * Collections both hold whose owners differ: copying would merge two workspaces' knowledge (or a
 * workspace's and the operator's) into one collection that both then read.
 */
async function ownerConflicts(dir: string, db: PostgresDatabase): Promise<string[]> {
  const here = localOwners(dir);
  const there = await databaseOwners(db, [...here.keys()]);
  const whose = (owner: string | null) => owner ?? 'no workspace (the operator’s)';
  return [...there]
    .filter(([collection, owner]) => here.get(collection) !== owner)
    .map(
      ([collection, owner]) =>
        `  ${collection}: ${whose(here.get(collection) ?? null)} here, ${whose(owner)} in the database`,
    );
}

/**
 * The host's pseudonym key, so people in the copied records stay the same people in new ones:
 * copied when the database has none yet; RECORD_PSEUDONYM_SECRET, when set, is used by both.
 */
async function copyPseudonymKey(dir: string, db: PostgresDatabase, secret?: string): Promise<Line[]> {
  if (secret || !existsSync(join(dir, PSEUDONYM_KEY_FILE))) return [];
  const key = loadPseudonymKey(dir).toString('base64');
  await db.migrate(RECORDS_MIGRATION, RECORDS_SCHEMA);
  const read = async () =>
    (await db.pool.query<{ value: string }>("SELECT value FROM rag_keys WHERE name = 'pseudonym'")).rows[0]
      ?.value;
  const before = await read();
  if (before === undefined) await PostgresRecordStore.open(db, undefined, key);
  if ((await read()) !== key) {
    throw new DatabaseError(
      `The database already has another pseudonym key than ${join(dir, PSEUDONYM_KEY_FILE)}: people in this host's records would not match the same people in the database's. Copy into an empty database, or set RECORD_PSEUDONYM_SECRET on every instance.`,
    );
  }
  const copied = before === undefined ? 1 : 0;
  return [{ what: 'pseudonym key', copied, present: 1 - copied }];
}

/**
 * Answer records, votes, digest claims, routes, settings, sources with their items, owners, learning
 * channels and installations from app.db; rows already there are kept.
 */
async function copyAppDatabase(dir: string, db: PostgresDatabase): Promise<Line[]> {
  if (!existsSync(join(dir, 'app.db'))) return [];
  const app = openAppDatabase(dir);
  const lines: Line[] = [];
  const copyRows = async (
    what: string,
    table: string,
    insert: string,
    values: (row: Row) => unknown[],
    select = `SELECT * FROM ${table}`,
  ) => {
    if (!hasTable(app.db, table)) return;
    const line: Line = { what, copied: 0, present: 0 };
    for (const row of app.db.prepare(select).iterate() as Iterable<Row>) {
      const { rowCount } = await db.pool.query(`${insert} ON CONFLICT DO NOTHING`, values(row));
      if (rowCount === 1) line.copied += 1;
      else line.present += 1;
    }
    lines.push(line);
  };
  const orNull = (value: unknown) => (value === undefined || value === null ? null : value);
  try {
    await PostgresRecordStore.open(db);
    await copyRows(
      'answer records',
      'answer_records',
      `INSERT INTO answer_records (question_id, asked_at, platform, workspace_id, channel_id, thread_id, direct,
         asker_id, question, question_hash, standalone, via, outcome, mode, degraded, sources, condense_ms,
         retrieval_ms, first_token_ms, total_ms, link, escalated_at, audience)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
         $23)`,
      (row) => [
        row.question_id,
        Number(row.asked_at),
        row.platform,
        orNull(row.workspace_id),
        orNull(row.channel_id),
        orNull(row.thread_id),
        Number(row.direct) === 1,
        orNull(row.asker_id),
        orNull(row.question),
        row.question_hash,
        orNull(row.standalone),
        orNull(row.via),
        row.outcome,
        orNull(row.mode),
        Number(row.degraded) === 1,
        row.sources,
        orNull(row.condense_ms),
        orNull(row.retrieval_ms),
        orNull(row.first_token_ms),
        orNull(row.total_ms),
        orNull(row.link),
        orNull(row.escalated_at),
        orNull(row.audience),
      ],
    );
    await copyRows(
      'votes',
      'answer_feedback',
      'INSERT INTO answer_feedback (question_id, user_id, vote, reason, at) VALUES ($1, $2, $3, $4, $5)',
      (row) => [row.question_id, row.user_id, row.vote, orNull(row.reason), Number(row.at)],
    );
    await copyRows(
      'digests posted',
      'digest_posts',
      'INSERT INTO digest_posts (destination, period, claimed_at, posted_at) VALUES ($1, $2, $3, $4)',
      (row) => [row.destination, row.period, Number(row.claimed_at), orNull(row.posted_at)],
    );
    await postgresRouteStore(db);
    await copyRows(
      '/kb use routes',
      'knowledge_routes',
      'INSERT INTO knowledge_routes (place, collections, set_by, set_at) VALUES ($1, $2::jsonb, $3, $4)',
      (row) => [row.place, row.collections, row.set_by, row.set_at],
    );
    await postgresTenantSettings(db);
    await copyRows(
      '/kb settings',
      'tenant_settings',
      `INSERT INTO tenant_settings (platform, workspace_id, handoff_id, handoff_label, digest_id, digest_label,
         updated_by, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      (row) => [
        row.platform,
        row.workspace_id,
        orNull(row.handoff_id),
        orNull(row.handoff_label),
        orNull(row.digest_id),
        orNull(row.digest_label),
        orNull(row.updated_by),
        row.updated_at,
      ],
    );
    // Sources keep their numbers where the database has none of its own by that number, so
    // `/kb remove 3` names the same one after; their items follow them by URL and collection.
    await PostgresSourceRepository.open(db);
    if (hasTable(app.db, 'knowledge_sources')) {
      const line: Line = { what: 'sources', copied: 0, present: 0 };
      for (const row of app.db
        .prepare('SELECT * FROM knowledge_sources ORDER BY id')
        .iterate() as Iterable<Row>) {
        const values = [
          orNull(row.kind) ?? 'web',
          orNull(row.state),
          row.url,
          row.collection,
          row.added_by,
          orNull(row.tenant),
          row.added_at,
          orNull(row.last_sync_at),
          orNull(row.last_status),
          orNull(row.last_error),
          Number(row.failures ?? 0),
        ];
        const columns = `kind, state, url, collection, added_by, tenant, added_at, last_sync_at, last_status,
          last_error, failures`;
        const placeholders = '$1, $2::jsonb, $3, $4, $5, $6, $7, $8, $9, $10, $11';
        const there = await db.pool.query(
          'SELECT 1 FROM knowledge_sources WHERE url = $1 AND collection = $2',
          [row.url, row.collection],
        );
        if (there.rowCount) {
          line.present += 1;
          continue;
        }
        const kept = await db.pool.query(
          `INSERT INTO knowledge_sources (id, ${columns}) VALUES ($12, ${placeholders}) ON CONFLICT DO NOTHING`,
          [...values, Number(row.id)],
        );
        if (!kept.rowCount) {
          // That number is another host's source: this one gets the next.
          await db.pool.query(`INSERT INTO knowledge_sources (${columns}) VALUES (${placeholders})`, values);
        }
        line.copied += 1;
        await db.pool.query(
          `SELECT setval(pg_get_serial_sequence('knowledge_sources', 'id'),
             greatest((SELECT max(id) FROM knowledge_sources), 1))`,
        );
      }
      lines.push(line);
    }
    await copyRows(
      'items synced (pages, files, …)',
      'knowledge_pages',
      `INSERT INTO knowledge_pages (source_id, url, title, version, etag, last_modified, hash, links, chunk_ids)
       SELECT s.id, $1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb FROM knowledge_sources s
       WHERE s.url = $9 AND s.collection = $10`,
      (row) => [
        row.url,
        orNull(row.title),
        orNull(row.version),
        orNull(row.etag),
        orNull(row.last_modified),
        row.hash,
        row.links,
        row.chunk_ids,
        row.source_url,
        row.source_collection,
      ],
      `SELECT p.*, s.url AS source_url, s.collection AS source_collection
       FROM knowledge_pages p JOIN knowledge_sources s ON s.id = p.source_id`,
    );
    await copyRows(
      'collection owners',
      'knowledge_collection_owners',
      'INSERT INTO knowledge_collection_owners (collection, owner, claimed_at) VALUES ($1, $2, $3)',
      (row) => [row.collection, row.owner, row.claimed_at],
    );
    await copyRows(
      '/kb learn channels',
      'knowledge_learning_channels',
      'INSERT INTO knowledge_learning_channels (channel, enabled_by, enabled_at) VALUES ($1, $2, $3)',
      (row) => [row.channel, row.enabled_by, row.enabled_at],
    );
    await PostgresLearningRepository.open(db);
    await copyRows(
      'threads learned',
      'knowledge_learned_threads',
      'INSERT INTO knowledge_learned_threads (permalink, channel, collection, learned_at) VALUES ($1, $2, $3, $4)',
      (row) => [row.permalink, row.channel, row.collection, row.learned_at],
    );
    await copyRows(
      'marks of threads learned',
      'knowledge_learned_marks',
      'INSERT INTO knowledge_learned_marks (permalink, mark, marked_at) VALUES ($1, $2, $3)',
      (row) => [row.permalink, row.mark, row.marked_at],
    );
    await postgresRecords(db);
    await copyRows(
      'Slack installations (sealed)',
      'slack_installations',
      `INSERT INTO slack_installations (id, team_id, enterprise_id, key_id, sealed, installed_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      (row) => [
        row.id,
        orNull(row.team_id),
        orNull(row.enterprise_id),
        row.key_id,
        row.sealed,
        row.installed_at,
        row.updated_at,
      ],
    );
  } finally {
    app.close();
  }
  return lines;
}

async function main(): Promise<number> {
  try {
    const { values } = parseArgs({ options: { help: { type: 'boolean', short: 'h', default: false } } });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const config = loadConfig();
  if (!config.database) {
    process.stderr.write('Set DATABASE_URL to the PostgreSQL database to copy into (see .env.example).\n');
    return 2;
  }
  const dir = config.rag.dataDir;
  if (!existsSync(join(dir, STORE_FILE)) && !existsSync(join(dir, 'app.db'))) {
    process.stderr.write(`Nothing to copy: ${dir} holds neither ${STORE_FILE} nor app.db.\n`);
    return 2;
  }
  const db = await connectPostgres(config.database.url, { maxConnections: config.database.poolSize });
  try {
    const conflicts = await ownerConflicts(dir, db);
    if (conflicts.length > 0) {
      process.stderr.write(
        [
          `Nothing was copied: these collections belong to different workspaces or servers in ${dir} and in ${db.description}, and copying would merge them into one that both read:`,
          ...conflicts,
          'Give one of them another name first (move its sources and passages on this host), then run npm run db:copy again.',
          '',
        ].join('\n'),
      );
      return 1;
    }
    process.stderr.write(`Copying ${dir} into PostgreSQL at ${db.description} …\n`);
    const lines = [
      ...(await copyPassages(dir, db, process.stderr)),
      ...(await copyPseudonymKey(dir, db, config.records.pseudonymSecret)),
      ...(await copyAppDatabase(dir, db)),
    ];
    const width = Math.max(...lines.map((line) => line.what.length), 10);
    process.stdout.write(
      [
        `Copied ${dir} into ${db.description}:`,
        ...lines.map(
          (line) =>
            `  ${line.what.padEnd(width)}  ${String(line.copied).padStart(8)} copied  ${String(line.present).padStart(8)} already there`,
        ),
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    await db.close();
  }
}

runCommand(main);
