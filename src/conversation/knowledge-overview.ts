/**
 * What the bot knows *for a place*, in a form a front end can show (Slack's App Home, a help
 * reply): the collections routed to that place, how many passages they hold and which sources
 * they come from. Only the place's own collections are read, so another workspace's private
 * collection never shows up. Listing sources walks the collections' ids (a range scan on
 * Upstash), so each place's result is cached for a minute: opening the Home tab repeatedly
 * costs one scan, not one per open.
 */
import type { CollectionStore, Place } from '../core/types.js';

export interface SourceSummary {
  /** The document's path or URL, as ingestion recorded it. */
  readonly name: string;
  readonly passages: number;
}

export interface CollectionSummary {
  readonly name: string;
  readonly description?: string;
  readonly passages?: number;
}

export interface KnowledgeOverview {
  readonly passages: number;
  /** Sources by passages, most first. */
  readonly sources: readonly SourceSummary[];
  /** Named collections, when the deployment has any. */
  readonly collections: readonly CollectionSummary[];
}

export type KnowledgeOverviewReader = (place: Place) => Promise<KnowledgeOverview>;

export interface KnowledgeOverviewOptions {
  /** The collections a place reads (the knowledge routes); every question reads `default` without it. */
  readonly collectionsFor?: (place: Place) => Promise<readonly string[]>;
  readonly ttlMs?: number;
  readonly now?: () => number;
}

const DEFAULT_TTL_MS = 60_000;

/** Summarises what `place` can read; cached per set of collections for `ttlMs`; a failed read is not cached. */
export function knowledgeOverview(
  store: Pick<CollectionStore, 'collection'>,
  options: KnowledgeOverviewOptions = {},
): KnowledgeOverviewReader {
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  const now = options.now ?? Date.now;
  const cached = new Map<string, { at: number; value: Promise<KnowledgeOverview> }>();
  const read = async (names: readonly string[]): Promise<KnowledgeOverview> => {
    const counts = new Map<string, number>();
    const collections: CollectionSummary[] = [];
    let passages = 0;
    for (const name of names) {
      const ids = await store.collection(name).listIds();
      passages += ids.size;
      collections.push({ name, passages: ids.size });
      for (const source of ids.values()) counts.set(source, (counts.get(source) ?? 0) + 1);
    }
    const sources = [...counts]
      .filter(([name]) => name !== '')
      .map(([name, count]) => ({ name, passages: count }))
      .sort((a, b) => b.passages - a.passages || a.name.localeCompare(b.name));
    // One unnamed collection is the plain single-knowledge-base case: no list of collections.
    return {
      passages,
      sources,
      collections: names.length === 1 && names[0] === 'default' ? [] : collections,
    };
  };
  return async (place) => {
    const names = options.collectionsFor ? await options.collectionsFor(place) : ['default'];
    const key = [...names].sort().join('\n');
    const hit = cached.get(key);
    if (hit && now() - hit.at < ttlMs) return hit.value;
    const value = read(names);
    const entry = { at: now(), value };
    cached.set(key, entry);
    value.catch(() => {
      if (cached.get(key) === entry) cached.delete(key);
    });
    return value;
  };
}
