/**
 * The knowledge in PostgreSQL (DATABASE_URL without Upstash): the embedded store's ranking and
 * relevance score over a table every instance shares. Passages are cut into the same stemmed
 * terms (terms.ts), found through a GIN index on a tsvector of those terms, ranked by the same
 * BM25 as the embedded store's FTS5 index (same field weights, k1, b and IDF, computed from
 * exact passage counts kept beside the table), and scored for relevance by the same function
 * (ranking.ts), so both stores answer alike and share one calibrated floor.
 *
 * Writes take a transaction-scoped advisory lock, one writer at a time across every instance,
 * as the embedded store's writers queue for its file: the term counts stay exact and two
 * ingestions never deadlock. Reads never wait for writers.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { failures, RagError } from '../../core/failures.js';
import {
  type Chunk,
  type CollectionStore,
  DEFAULT_COLLECTION,
  type Passage,
  type SearchOptions,
  type StoreStats,
} from '../../core/types.js';
import { type Logger, silentLogger } from '../../log.js';
import { LOCK_KEY_SQL, type PostgresDatabase } from '../../state/postgres.js';
import { pgJson, pgText } from '../../state/postgres-text.js';
import {
  AGREEMENT_DEPTH,
  BODY_WEIGHT,
  META_WEIGHT,
  metadataText,
  RELEVANCE_FLOOR,
  rankingTerms,
  relevanceScorer,
  TITLE_WEIGHT,
  withAgreement,
} from '../local/ranking.js';
import { queryTerms, terms } from '../local/terms.js';
import { candidateQuery, EXACT_CANDIDATES } from './candidates.js';
import { STORE_MIGRATION, STORE_SCHEMA } from './schema.js';

/** BM25's parameters as SQLite's FTS5 uses them. */
const K1 = 1.2;
const B = 0.75;

/** FTS5's inverse document frequency: never zero or negative, so a common term still counts a little. */
export function bm25Idf(documentFrequency: number, documents: number): number {
  const idf = Math.log((documents - documentFrequency + 0.5) / (documentFrequency + 0.5));
  return idf > 0 ? idf : 1e-6;
}

/** Rows written per statement: large enough to amortise a round trip, small enough for memory. */
const WRITE_BATCH = 1_000;

interface IndexedChunk {
  readonly chunk: Chunk;
  readonly fingerprint: string;
  /** Distinct terms. */
  readonly terms: readonly string[];
  readonly frequencies: Record<string, number>;
  readonly length: number;
}

/** The chunk as PostgreSQL can hold it (no NUL in its strings). */
function storable(chunk: Chunk): Chunk {
  return {
    ...chunk,
    source: pgText(chunk.source),
    text: pgText(chunk.text),
    ...(chunk.title !== undefined ? { title: pgText(chunk.title) } : {}),
    ...(chunk.url !== undefined ? { url: pgText(chunk.url) } : {}),
    metadata: JSON.parse(pgJson(chunk.metadata ?? {})) as Record<string, unknown>,
  };
}

function index(written: Chunk): IndexedChunk {
  const chunk = storable(written);
  const fields: [readonly string[], number][] = [
    [terms(chunk.title ?? ''), TITLE_WEIGHT],
    [terms(chunk.text), BODY_WEIGHT],
    [terms(metadataText(chunk)), META_WEIGHT],
  ];
  const frequencies: Record<string, number> = Object.create(null);
  let length = 0;
  for (const [words, weight] of fields) {
    length += words.length;
    for (const word of words) frequencies[word] = (frequencies[word] ?? 0) + weight;
  }
  const fingerprint = createHash('sha256')
    .update(
      JSON.stringify([
        chunk.source,
        chunk.title || null,
        chunk.url || null,
        chunk.text,
        chunk.metadata ?? {},
      ]),
    )
    .digest('base64url');
  return { chunk, fingerprint, terms: Object.keys(frequencies), frequencies, length };
}

interface Statistics {
  readonly documents: number;
  readonly averageLength: number;
  readonly frequencies: Map<string, number>;
}

interface PassageRow {
  readonly id: string;
  readonly source: string;
  readonly title: string | null;
  readonly url: string | null;
  readonly text: string;
  readonly metadata: Record<string, unknown>;
}

export interface PostgresStoreOptions {
  readonly db: PostgresDatabase;
  readonly logger?: Logger;
  /** Passages a search scores at most before it narrows its candidates (candidates.ts). */
  readonly candidateBudget?: number;
  /** How long one search query may take (`SEARCH_TIMEOUT_MS`); tests shorten it. */
  readonly searchTimeoutMs?: number;
}

/**
 * A search query's client-side limit (node-postgres' per-query `query_timeout`). Searches take
 * milliseconds (a million passages: p99 16 ms, bench/results.md); one that has not answered in
 * this time meets a database that hangs (a lock held by a migration, a network that drops
 * packets), and the person is told the knowledge base is unavailable instead of waiting for the
 * answer's own time limit. The connection is dropped with it, so the next search starts clean.
 */
export const SEARCH_TIMEOUT_MS = 10_000;

interface TimedQuery extends pg.QueryConfig {
  readonly query_timeout: number;
}

export class PostgresStore implements CollectionStore {
  readonly description: string;
  readonly defaultMinScore = RELEVANCE_FLOOR;

  private constructor(
    private readonly db: PostgresDatabase,
    private readonly log: Logger,
    private readonly candidateBudget: number,
    private readonly searchTimeoutMs: number,
    readonly collectionName: string = DEFAULT_COLLECTION,
  ) {
    this.description =
      collectionName === DEFAULT_COLLECTION
        ? `PostgreSQL store (${db.description})`
        : `PostgreSQL store (${db.description}, collection ${collectionName})`;
  }

  /** The store in `db`, its tables created on first use. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    await options.db.migrate(STORE_MIGRATION, STORE_SCHEMA);
    return new PostgresStore(
      options.db,
      options.logger ?? silentLogger,
      options.candidateBudget ?? EXACT_CANDIDATES,
      options.searchTimeoutMs ?? SEARCH_TIMEOUT_MS,
    );
  }

  collection(name: string): PostgresStore {
    return new PostgresStore(this.db, this.log, this.candidateBudget, this.searchTimeoutMs, name);
  }

  /** A search statement, given up on (client side) past the search time limit. */
  private searchQuery<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    const query: TimedQuery = { text, values, query_timeout: this.searchTimeoutMs };
    return this.db.pool.query<R>(query);
  }

  async collections(): Promise<Map<string, number>> {
    const { rows } = await this.read(() =>
      this.db.pool.query<{ collection: string; n: number }>(
        'SELECT collection, count(*)::int AS n FROM knowledge_chunks GROUP BY collection',
      ),
    );
    return new Map(rows.map((row) => [row.collection, row.n]));
  }

  async search(query: string, options: SearchOptions): Promise<Passage[]> {
    options.signal?.throwIfAborted();
    const wanted = queryTerms(query);
    if (wanted.length === 0) return [];
    const statistics = await this.read(() => this.statistics(wanted));
    if (statistics.documents === 0) return [];
    const { documents, frequencies } = statistics;
    const ranked = rankingTerms(wanted, frequencies, documents).filter(
      (term) => (frequencies.get(term) ?? 0) > 0,
    );
    if (ranked.length === 0) return [];
    const candidates = candidateQuery(ranked, frequencies, documents, this.candidateBudget);
    options.signal?.throwIfAborted();
    const { rows } = await this.read(() =>
      this.searchQuery<PassageRow>(
        `WITH query AS (SELECT * FROM unnest($1::text[], $2::float8[]) AS q (term, idf)),
         candidates AS (
           SELECT rowid, frequencies, length FROM knowledge_chunks
           WHERE terms @@ $3::tsquery AND collection = ANY($4::text[])
           LIMIT $7
         ),
         ranked AS (
           SELECT c.rowid,
             sum(q.idf * (f.tf * ${K1 + 1}) / (f.tf + ${K1} * (${1 - B} + ${B} * c.length::float8 / $5::float8))) AS score
           FROM candidates c CROSS JOIN query q
           CROSS JOIN LATERAL (SELECT (c.frequencies ->> q.term)::float8 AS tf) f
           WHERE f.tf IS NOT NULL
           GROUP BY c.rowid
           ORDER BY score DESC, c.rowid
           LIMIT $6
         )
         SELECT k.id, k.source, k.title, k.url, k.text, k.metadata
         FROM ranked r JOIN knowledge_chunks k ON k.rowid = r.rowid
         ORDER BY r.score DESC, r.rowid`,
        [
          ranked,
          ranked.map((term) => bm25Idf(frequencies.get(term) ?? 0, documents)),
          candidates.tsquery,
          options.collections ?? [DEFAULT_COLLECTION],
          statistics.averageLength,
          // As the embedded store: scores compare documents over at least the top AGREEMENT_DEPTH.
          Math.max(options.topK, AGREEMENT_DEPTH),
          candidates.limit,
        ],
      ),
    );
    const relevance = relevanceScorer(query, wanted, frequencies, documents);
    const scored = rows.map((row) => {
      const passage: Passage = {
        id: row.id,
        text: row.text,
        source: row.source,
        ...(row.title ? { title: row.title } : {}),
        ...(row.url ? { url: row.url } : {}),
        metadata: row.metadata,
        score: 0,
      };
      return { ...passage, score: relevance(passage) };
    });
    return withAgreement(scored).slice(0, options.topK);
  }

  async upsert(chunks: readonly Chunk[]): Promise<void> {
    // The last of several chunks with one id wins, as if they had been written in turn.
    const latest = new Map(chunks.map((chunk) => [chunk.id, chunk]));
    const all = [...latest.values()];
    for (let start = 0; start < all.length; start += WRITE_BATCH) {
      await this.write((client) => this.put(client, all.slice(start, start + WRITE_BATCH).map(index)));
    }
  }

  async delete(ids: readonly string[]): Promise<void> {
    const unique = [...new Set(ids)];
    for (let start = 0; start < unique.length; start += WRITE_BATCH) {
      const batch = unique.slice(start, start + WRITE_BATCH);
      await this.write((client) =>
        this.remove(client, 'collection = $1 AND id = ANY($2::text[])', [this.collectionName, batch]),
      );
    }
  }

  async listIds(): Promise<Map<string, string>> {
    const { rows } = await this.read(() =>
      this.db.pool.query<{ id: string; source: string }>(
        'SELECT id, source FROM knowledge_chunks WHERE collection = $1',
        [this.collectionName],
      ),
    );
    return new Map(rows.map((row) => [row.id, row.source]));
  }

  async reset(): Promise<void> {
    await this.write(async (client) => {
      const { rows } = await client.query<{ mine: number; others: number }>(
        `SELECT count(*) FILTER (WHERE collection = $1)::int AS mine,
                count(*) FILTER (WHERE collection <> $1)::int AS others FROM knowledge_chunks`,
        [this.collectionName],
      );
      if (rows[0]!.others === 0) {
        await client.query('TRUNCATE knowledge_chunks, knowledge_terms');
        await client.query('UPDATE knowledge_totals SET passages = 0, terms = 0');
        return;
      }
      if (rows[0]!.mine > 0) await this.remove(client, 'collection = $1', [this.collectionName]);
    });
  }

  async stats(): Promise<StoreStats> {
    const { rows } = await this.read(() =>
      this.db.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM knowledge_chunks WHERE collection = $1',
        [this.collectionName],
      ),
    );
    return { vectorCount: rows[0]!.n };
  }

  /** The pool belongs to whoever opened the database; closing a store view releases nothing. */
  close(): void {}

  /** Passage count, average length and how many passages hold each of `wanted`, read together. */
  private async statistics(wanted: readonly string[]): Promise<Statistics> {
    const { rows } = await this.searchQuery<{
      passages: string;
      terms: string;
      frequencies: Record<string, number> | null;
    }>(
      `SELECT t.passages, t.terms,
         (SELECT jsonb_object_agg(term, passages) FROM knowledge_terms
          WHERE term = ANY($1::text[]) AND passages > 0) AS frequencies
       FROM knowledge_totals t`,
      [wanted],
    );
    const row = rows[0]!;
    const documents = Number(row.passages);
    return {
      documents,
      averageLength: documents > 0 ? Math.max(Number(row.terms) / documents, 1e-9) : 1,
      frequencies: new Map(Object.entries(row.frequencies ?? {})),
    };
  }

  /** Inserts new chunks and replaces changed ones, keeping the term counts exact. */
  private async put(client: pg.PoolClient, batch: readonly IndexedChunk[]): Promise<void> {
    const { rows: existing } = await client.query<{
      id: string;
      fingerprint: string;
      length: number;
      terms: string[];
    }>(
      `SELECT id, fingerprint, length, tsvector_to_array(terms) AS terms FROM knowledge_chunks
       WHERE collection = $1 AND id = ANY($2::text[])`,
      [this.collectionName, batch.map((item) => item.chunk.id)],
    );
    const before = new Map(existing.map((row) => [row.id, row]));
    const changes = new Map<string, number>();
    const count = (words: readonly string[], by: number) => {
      for (const word of words) changes.set(word, (changes.get(word) ?? 0) + by);
    };
    let passages = 0;
    let length = 0;
    const written: IndexedChunk[] = [];
    for (const item of batch) {
      const old = before.get(item.chunk.id);
      if (old?.fingerprint === item.fingerprint) continue;
      if (old) {
        count(old.terms, -1);
        length -= old.length;
      } else passages += 1;
      count(item.terms, 1);
      length += item.length;
      written.push(item);
    }
    if (written.length === 0) return;
    await client.query(
      `INSERT INTO knowledge_chunks
         (collection, id, source, title, url, text, metadata, fingerprint, terms, frequencies, length)
       SELECT $1, r.id, r.source, r.title, r.url, r.text, r.metadata::jsonb, r.fingerprint,
         array_to_tsvector(string_to_array(r.terms, ' ')), r.frequencies::jsonb, r.length
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
         $9::text[], $10::text[], $11::int[])
         AS r (id, source, title, url, text, metadata, fingerprint, terms, frequencies, length)
       ON CONFLICT (collection, id) DO UPDATE SET source = excluded.source, title = excluded.title,
         url = excluded.url, text = excluded.text, metadata = excluded.metadata,
         fingerprint = excluded.fingerprint, terms = excluded.terms, frequencies = excluded.frequencies,
         length = excluded.length`,
      [
        this.collectionName,
        written.map((item) => item.chunk.id),
        written.map((item) => item.chunk.source),
        written.map((item) => item.chunk.title || null),
        written.map((item) => item.chunk.url || null),
        written.map((item) => item.chunk.text),
        written.map((item) => JSON.stringify(item.chunk.metadata ?? {})),
        written.map((item) => item.fingerprint),
        written.map((item) => item.terms.join(' ')),
        written.map((item) => JSON.stringify(item.frequencies)),
        written.map((item) => item.length),
      ],
    );
    await this.countTerms(client, changes);
    await client.query('UPDATE knowledge_totals SET passages = passages + $1, terms = terms + $2', [
      passages,
      length,
    ]);
  }

  /** Adds each term's change in passage count; terms no passage holds any more are dropped. */
  private async countTerms(client: pg.PoolClient, changes: ReadonlyMap<string, number>): Promise<void> {
    const changed = [...changes].filter(([, by]) => by !== 0);
    if (changed.length === 0) return;
    // Under the writers' lock no one else adds terms: update those known, insert the rest.
    await client.query(
      `WITH changes AS (SELECT * FROM unnest($1::text[], $2::int[]) AS c (term, n)),
       updated AS (
         UPDATE knowledge_terms t SET passages = t.passages + c.n FROM changes c WHERE t.term = c.term
         RETURNING t.term
       )
       INSERT INTO knowledge_terms (term, passages)
       SELECT term, n FROM changes WHERE term NOT IN (SELECT term FROM updated)`,
      [changed.map(([term]) => term), changed.map(([, by]) => by)],
    );
    const dropped = changed.filter(([, by]) => by < 0).map(([term]) => term);
    if (dropped.length > 0)
      await client.query('DELETE FROM knowledge_terms WHERE term = ANY($1::text[]) AND passages <= 0', [
        dropped,
      ]);
  }

  /** Deletes the rows `where` selects, taking their terms out of the counts. */
  private async remove(client: pg.PoolClient, where: string, parameters: unknown[]): Promise<void> {
    const { rows } = await client.query<{ term: string }>(
      `WITH gone AS (DELETE FROM knowledge_chunks WHERE ${where} RETURNING terms, length),
       counted AS (
         SELECT u.lexeme AS term, count(*)::int AS n FROM gone CROSS JOIN LATERAL unnest(gone.terms) u
         GROUP BY u.lexeme
       ),
       totals AS (
         UPDATE knowledge_totals SET passages = passages - (SELECT count(*) FROM gone),
           terms = terms - (SELECT coalesce(sum(length), 0) FROM gone)
       ),
       counts AS (
         UPDATE knowledge_terms t SET passages = t.passages - c.n FROM counted c WHERE t.term = c.term
         RETURNING t.term, t.passages
       )
       SELECT term FROM counts WHERE passages <= 0`,
      parameters,
    );
    if (rows.length > 0)
      await client.query('DELETE FROM knowledge_terms WHERE term = ANY($1::text[]) AND passages <= 0', [
        rows.map((row) => row.term),
      ]);
  }

  /** One write transaction; writers on every instance take their turn. */
  private async write(work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    try {
      await this.db.transaction(async (client) => {
        await client.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY_SQL})`, ['knowledge-writes']);
        await work(client);
      });
    } catch (error) {
      this.log.error({ err: error }, 'PostgreSQL store write failed');
      throw new RagError(
        { ...failures.unavailable('The knowledge base'), service: 'postgres' },
        { cause: error },
      );
    }
  }

  private async read<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      this.log.error({ err: error }, 'PostgreSQL store read failed');
      throw new RagError(
        { ...failures.unavailable('The knowledge base'), service: 'postgres' },
        { cause: error },
      );
    }
  }
}
