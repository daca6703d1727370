/**
 * Where the knowledge's own records live for a process: with DATABASE_URL the sources, their
 * items' sync state, the collections' owners, the sync locks and `/kb learn`'s channels are in
 * PostgreSQL, shared by every instance and by `npm run ingest` on any host; without it the
 * knowledge service opens them in the bot's own database (app.db). The PostgreSQL module is
 * loaded only when there is a database.
 */
import type { PostgresDatabase } from '../state/postgres.js';
import type { LearningRepository } from './learn.js';
import type { SourceRepository } from './sources.js';

export interface KnowledgeRepositories {
  readonly sources?: SourceRepository;
  readonly learning?: LearningRepository;
}

export async function knowledgeRepositories(
  database: PostgresDatabase | undefined,
): Promise<KnowledgeRepositories> {
  if (!database) return {};
  const { PostgresLearningRepository, PostgresSourceRepository } = await import('./sources-postgres.js');
  return {
    sources: await PostgresSourceRepository.open(database),
    learning: await PostgresLearningRepository.open(database),
  };
}
