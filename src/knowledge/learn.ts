/**
 * Learning from a support channel (`/kb learn`): the channels whose resolved threads become
 * knowledge on their own, and the threads learned that way (by permalink and each collection
 * they went to, since a channel's collection may change between two marks) with the marks that
 * learned them, so that a thread is unlearned, from every collection it went to, only once its
 * last qualifying mark is taken away. Kept beside the
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
  /** Records the thread as learned into its collection, and `mark` (who marked which message how) as one that learned it. */
  recordThread(thread: LearnedThread, mark?: string): Promise<void>;
  /** Every collection the thread was learned into (none: it is not learned). */
  threadCollections(permalink: string): Promise<string[]>;
  /** Takes `mark` away from the thread; returns how many marks it still has. */
  unmark(permalink: string, mark: string): Promise<number>;
  /** Forgets the thread: every collection it was learned into, and its marks. */
  forgetThread(permalink: string): Promise<void>;
  /** Threads learned in the channel. */
  threadsIn(channel: string): Promise<number>;
}

/** SQLite: learned threads keyed by permalink and collection, and the marks that learned them. */
export const LEARNING_MIGRATION_2 = `CREATE TABLE knowledge_learned_threads_2 (
  permalink TEXT NOT NULL,
  collection TEXT NOT NULL,
  channel TEXT NOT NULL,
  learned_at TEXT NOT NULL,
  PRIMARY KEY (permalink, collection)
) STRICT;
INSERT INTO knowledge_learned_threads_2 (permalink, collection, channel, learned_at)
  SELECT permalink, collection, channel, learned_at FROM knowledge_learned_threads;
DROP TABLE knowledge_learned_threads;
ALTER TABLE knowledge_learned_threads_2 RENAME TO knowledge_learned_threads;
CREATE INDEX knowledge_learned_threads_channel ON knowledge_learned_threads (channel);
CREATE TABLE knowledge_learned_marks (
  permalink TEXT NOT NULL,
  mark TEXT NOT NULL,
  marked_at TEXT NOT NULL,
  PRIMARY KEY (permalink, mark)
) STRICT;`;

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
    app.migrate('knowledge-learning-2', LEARNING_MIGRATION_2);
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

  async recordThread(thread: LearnedThread, mark?: string): Promise<void> {
    const now = new Date().toISOString();
    this.app.transaction(() => {
      this.app.db
        .prepare(
          `INSERT INTO knowledge_learned_threads (permalink, collection, channel, learned_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (permalink, collection) DO UPDATE SET channel = excluded.channel,
             learned_at = excluded.learned_at`,
        )
        .run(thread.permalink, thread.collection, thread.channel, now);
      if (mark !== undefined) {
        this.app.db
          .prepare(
            'INSERT INTO knowledge_learned_marks (permalink, mark, marked_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
          )
          .run(thread.permalink, mark, now);
      }
    });
  }

  async threadCollections(permalink: string): Promise<string[]> {
    const rows = this.app.db
      .prepare('SELECT collection FROM knowledge_learned_threads WHERE permalink = ? ORDER BY collection')
      .all(permalink) as { collection: string }[];
    return rows.map((row) => row.collection);
  }

  async unmark(permalink: string, mark: string): Promise<number> {
    return this.app.transaction(() => {
      this.app.db
        .prepare('DELETE FROM knowledge_learned_marks WHERE permalink = ? AND mark = ?')
        .run(permalink, mark);
      const row = this.app.db
        .prepare('SELECT count(*) AS n FROM knowledge_learned_marks WHERE permalink = ?')
        .get(permalink) as { n: number };
      return Number(row.n);
    });
  }

  async forgetThread(permalink: string): Promise<void> {
    this.app.transaction(() => {
      this.app.db.prepare('DELETE FROM knowledge_learned_threads WHERE permalink = ?').run(permalink);
      this.app.db.prepare('DELETE FROM knowledge_learned_marks WHERE permalink = ?').run(permalink);
    });
  }

  async threadsIn(channel: string): Promise<number> {
    const row = this.app.db
      .prepare('SELECT count(DISTINCT permalink) AS n FROM knowledge_learned_threads WHERE channel = ?')
      .get(channel) as { n: number };
    return Number(row.n);
  }
}
