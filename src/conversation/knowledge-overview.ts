/**
 * What the bot knows, in a form a front end can show (Slack's App Home, a help reply): how
 * many passages the store holds and which sources they come from. Listing sources walks the
 * store's ids (a range scan on Upstash), so the result is cached for a minute: opening the
 * Home tab repeatedly costs one scan, not one per open.
 *
 * Extension point: named collections and web sources registered through `/kb` belong in
 * `KnowledgeOverview.collections`; pass a `collections` reader (from the bot's database) and
 * they are listed beside the store's sources.
 */
import type { KnowledgeStore } from '../core/types.js';

export interface SourceSummary {
  /** The document's path or URL, as ingestion recorded it. */
  readonly name: string;
  readonly passages: number;
}

export interface CollectionSummary {
  readonly name: string;
  readonly description?: string;
  readonly sources?: number;
}

export interface KnowledgeOverview {
  readonly passages: number;
  /** Sources by passages, most first. */
  readonly sources: readonly SourceSummary[];
  /** Named collections, when the deployment has any. */
  readonly collections: readonly CollectionSummary[];
}

export type KnowledgeOverviewReader = () => Promise<KnowledgeOverview>;

export interface KnowledgeOverviewOptions {
  /** Collections known to the bot (from its database); none by default. */
  readonly collections?: () => Promise<readonly CollectionSummary[]>;
  readonly ttlMs?: number;
  readonly now?: () => number;
}

const DEFAULT_TTL_MS = 60_000;

/** Summarises a store's contents; cached for `ttlMs`; a failed read is not cached. */
export function knowledgeOverview(
  store: Pick<KnowledgeStore, 'stats' | 'listIds'>,
  options: KnowledgeOverviewOptions = {},
): KnowledgeOverviewReader {
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  const now = options.now ?? Date.now;
  let cached: { at: number; value: Promise<KnowledgeOverview> } | undefined;
  const read = async (): Promise<KnowledgeOverview> => {
    const [stats, ids, collections] = await Promise.all([
      store.stats(),
      store.listIds(),
      options.collections?.() ?? Promise.resolve([]),
    ]);
    const counts = new Map<string, number>();
    for (const source of ids.values()) counts.set(source, (counts.get(source) ?? 0) + 1);
    const sources = [...counts]
      .filter(([name]) => name !== '')
      .map(([name, passages]) => ({ name, passages }))
      .sort((a, b) => b.passages - a.passages || a.name.localeCompare(b.name));
    return { passages: stats.vectorCount, sources, collections };
  };
  return () => {
    if (cached && now() - cached.at < ttlMs) return cached.value;
    const value = read();
    const entry = { at: now(), value };
    cached = entry;
    value.catch(() => {
      if (cached === entry) cached = undefined;
    });
    return value;
  };
}
