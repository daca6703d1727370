/**
 * The PostgreSQL store's tables. `knowledge_chunks` holds each passage with its collection and
 * citation fields, and what ranking needs: `terms`, a tsvector of its distinct stemmed terms
 * (stemmed by us, terms.ts, exactly as the embedded store does, so a GIN index finds the
 * passages holding a question's terms), `frequencies`, each term's count weighted by field (title
 * ½, text 1, metadata 2, doubled to stay whole numbers), and `length`, its number of terms.
 * `knowledge_terms` counts the passages holding each term and `knowledge_totals` the passages and
 * terms of the whole store: the statistics BM25 and the relevance score read, kept exact by every
 * write.
 */

export const STORE_MIGRATION = 'knowledge-store-1';

export const STORE_SCHEMA = `
CREATE TABLE knowledge_chunks (
  rowid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  collection text NOT NULL,
  id text NOT NULL,
  source text NOT NULL,
  title text,
  url text,
  text text NOT NULL,
  metadata jsonb NOT NULL,
  fingerprint text NOT NULL,
  terms tsvector NOT NULL,
  frequencies jsonb NOT NULL,
  length integer NOT NULL,
  UNIQUE (collection, id)
);
CREATE INDEX knowledge_chunks_terms ON knowledge_chunks USING gin (terms);
CREATE TABLE knowledge_terms (
  term text PRIMARY KEY,
  passages integer NOT NULL
) WITH (fillfactor = 70);
CREATE TABLE knowledge_totals (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  passages bigint NOT NULL,
  terms bigint NOT NULL
);
INSERT INTO knowledge_totals (passages, terms) VALUES (0, 0);
`;
