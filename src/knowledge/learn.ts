/**
 * Learning from a support channel (`/kb learn`): the channels whose resolved threads become
 * knowledge on their own, and the threads learned that way (by permalink, with the collection
 * they went to) so that un-marking a thread removes exactly what it brought. Kept beside the
 * sources: in the bot's own database (src/state/app-db.ts), or in PostgreSQL with DATABASE_URL
 * (sources-postgres.ts).
 */
import type { AppDatabase } from '../state/app-db.js';

export interface LearningChannel {
  /** The channel key (`/kb use`'s: a channel, or a thread's parent channel). */
  readonly channel: string;
  readonly enabledBy: string;
  readonly enabledAt: string;
}

export interface LearnedThread {
  readonly permalink: string;
  readonly channel: string;
  readonly collection: string;
}

/** Reactions that mark a thread resolved (Slack's names; Discord sends the emoji itself). */
export const RESOLVED_REACTIONS: ReadonlySet<string> = new Set([
  'white_check_mark',
  'heavy_check_mark',
  'ballot_box_with_check',
  '✅',
  '✔️',
  '✔',
  '☑️',
]);

/** A forum tag that says a post is resolved. */
export function isResolvedTag(name: string): boolean {
  const word = name
    .toLowerCase()
    .replace(/[^\p{L}\s]/gu, '')
    .trim();
  return ['solved', 'resolved', 'closed', 'answered', 'done', 'fixed'].includes(word);
}

/** Where learning channels and learned threads live. */
export interface LearningRepository {
  enable(channel: string, by: string): Promise<void>;
  /** True when the channel was learning. */
  disable(channel: string): Promise<boolean>;
  channel(channel: string): Promise<LearningChannel | undefined>;
  recordThread(thread: LearnedThread): Promise<void>;
  thread(permalink: string): Promise<LearnedThread | undefined>;
  forgetThread(permalink: string): Promise<void>;
  threadsIn(channel: string): Promise<number>;
}

export class LearningStore implements LearningRepository {
  constructor(private readonly app: AppDatabase) {
    app.migrate(
      'knowledge-learning-1',
      `CREATE TABLE knowledge_learning_channels (
         channel TEXT PRIMARY KEY,
         enabled_by TEXT NOT NULL,
         enabled_at TEXT NOT NULL
       ) STRICT;
       CREATE TABLE knowledge_learned_threads (
         permalink TEXT PRIMARY KEY,
         channel TEXT NOT NULL,
         collection TEXT NOT NULL,
         learned_at TEXT NOT NULL
       ) STRICT;`,
    );
  }

  async enable(channel: string, by: string): Promise<void> {
    this.app.db
      .prepare(
        `INSERT INTO knowledge_learning_channels (channel, enabled_by, enabled_at) VALUES (?, ?, ?)
         ON CONFLICT (channel) DO UPDATE SET enabled_by = excluded.enabled_by, enabled_at = excluded.enabled_at`,
      )
      .run(channel, by, new Date().toISOString());
  }

  async disable(channel: string): Promise<boolean> {
    return (
      Number(
        this.app.db.prepare('DELETE FROM knowledge_learning_channels WHERE channel = ?').run(channel).changes,
      ) > 0
    );
  }

  async channel(channel: string): Promise<LearningChannel | undefined> {
    const row = this.app.db
      .prepare('SELECT channel, enabled_by, enabled_at FROM knowledge_learning_channels WHERE channel = ?')
      .get(channel) as { channel: string; enabled_by: string; enabled_at: string } | undefined;
    return row ? { channel: row.channel, enabledBy: row.enabled_by, enabledAt: row.enabled_at } : undefined;
  }

  async recordThread(thread: LearnedThread): Promise<void> {
    this.app.db
      .prepare(
        `INSERT INTO knowledge_learned_threads (permalink, channel, collection, learned_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (permalink) DO UPDATE SET channel = excluded.channel, collection = excluded.collection,
           learned_at = excluded.learned_at`,
      )
      .run(thread.permalink, thread.channel, thread.collection, new Date().toISOString());
  }

  async thread(permalink: string): Promise<LearnedThread | undefined> {
    return this.app.db
      .prepare('SELECT permalink, channel, collection FROM knowledge_learned_threads WHERE permalink = ?')
      .get(permalink) as LearnedThread | undefined;
  }

  async forgetThread(permalink: string): Promise<void> {
    this.app.db.prepare('DELETE FROM knowledge_learned_threads WHERE permalink = ?').run(permalink);
  }

  async threadsIn(channel: string): Promise<number> {
    const row = this.app.db
      .prepare('SELECT count(*) AS n FROM knowledge_learned_threads WHERE channel = ?')
      .get(channel) as { n: number };
    return Number(row.n);
  }
}
