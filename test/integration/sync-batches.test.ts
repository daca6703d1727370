/**
 * A sync writes a page of hundreds of passages in batches with the event loop free between
 * them (the embedded store writes synchronously), and a source removed or a sync cancelled
 * between two batches leaves nothing of the page behind: the real crawl, parser processes,
 * registry and SQLite store, against a loopback site; the store's writes are counted, not timed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Chunk, CollectionStore } from '../../src/core/types.js';
import { DEFAULT_PARSE_SETTINGS, ParsePool } from '../../src/ingest/parse-pool.js';
import { SourceRegistry } from '../../src/knowledge/sources.js';
import { CANCELLED, syncSource, UPSERT_BATCH } from '../../src/knowledge/sync.js';
import { type AppDatabase, openAppDatabase } from '../../src/state/app-db.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { type PagesSite, startPagesSite } from '../fakes/pages-site.js';

const timing = { now: () => 0, sleep: async () => undefined, delayMs: 0 };

describe('a sync writing a page of hundreds of passages', () => {
  let app: AppDatabase;
  let registry: SourceRegistry;
  let local: LocalStore;
  let server: PagesSite;
  const parser = new ParsePool({ ...DEFAULT_PARSE_SETTINGS, threads: 2 });
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rag-sync-batches-'));
    local = await LocalStore.open({ dir });
    app = openAppDatabase(dir);
    registry = new SourceRegistry(app);
    // About 600 KB of distinct words in short paragraphs: several hundred passages.
    const paragraphs: string[] = [];
    for (let p = 0; p < 1_500; p++) {
      const words = Array.from({ length: 60 }, (_, w) => `w${(p * 60 + w).toString(36)}q`);
      paragraphs.push(`<p>${words.join(' ')}.</p>`);
    }
    const big = `<html><head><title>Big</title></head><body><main>${paragraphs.join('')}</main></body></html>`;
    server = await startPagesSite((path) => (path === '/docs/' ? big : undefined));
  });
  afterAll(async () => {
    local.close();
    app.close();
    await server.close();
    await parser.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The real store, its upserts counted (with the event-loop turns seen so far) and `before` run ahead of each. */
  function observed(
    inner: CollectionStore,
    calls: { size: number; turns: number }[],
    turns: () => number,
    before?: (call: number) => void,
  ): CollectionStore {
    return new Proxy(inner, {
      get(target, property) {
        if (property === 'upsert') {
          return async (chunks: readonly Chunk[]) => {
            calls.push({ size: chunks.length, turns: turns() });
            before?.(calls.length);
            await target.upsert(chunks);
          };
        }
        if (property === 'collection')
          return (name: string) => observed(target.collection(name), calls, turns, before);
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** Counts event-loop turns (setImmediate) until stopped. */
  function turnCounter() {
    let turns = 0;
    let running = true;
    const tick = () => {
      turns += 1;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    return { turns: () => turns, stop: () => (running = false) };
  }

  it('writes the page in batches, the event loop free between them', async () => {
    const { source } = await registry.add(`${server.url}/docs/`, 'big', 'test');
    const calls: { size: number; turns: number }[] = [];
    const counter = turnCounter();
    const summary = await syncSource(observed(local, calls, counter.turns), registry, source, {
      crawl: { ...timing, parser },
    });
    counter.stop();
    expect(summary.error).toBeUndefined();
    expect(summary.chunksUpserted).toBeGreaterThan(2 * UPSERT_BATCH);
    expect(calls).toHaveLength(Math.ceil(summary.chunksUpserted / UPSERT_BATCH));
    expect(calls.every((call) => call.size <= UPSERT_BATCH)).toBe(true);
    for (let i = 1; i < calls.length; i++) expect(calls[i]!.turns).toBeGreaterThan(calls[i - 1]!.turns);
    // Every passage landed and is searchable.
    expect((await local.collections()).get('big')).toBe(summary.chunksUpserted);
    expect(await local.search('w1q', { topK: 1, collections: ['big'] })).toHaveLength(1);
    await registry.remove(source.id);
    await local.collection('big').reset();
  });

  it('a source removed between two batches (by another process) leaves no passage behind', async () => {
    const { source } = await registry.add(`${server.url}/docs/`, 'removed-midway', 'test');
    const calls: { size: number; turns: number }[] = [];
    const counter = turnCounter();
    const summary = await syncSource(
      observed(local, calls, counter.turns, (call) => {
        // The SQLite registry removes it at once, before the promise settles.
        if (call === 2) void registry.remove(source.id);
      }),
      registry,
      source,
      { crawl: { ...timing, parser } },
    );
    counter.stop();
    expect(summary.error).toBe(CANCELLED);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect((await local.collections()).get('removed-midway') ?? 0).toBe(0);
    expect(await registry.pages(source.id)).toEqual([]);
  });

  it('a sync cancelled between two batches leaves nothing of the unfinished page', async () => {
    const { source } = await registry.add(`${server.url}/docs/`, 'cancelled-midway', 'test');
    const controller = new AbortController();
    const calls: { size: number; turns: number }[] = [];
    const counter = turnCounter();
    const summary = await syncSource(
      observed(local, calls, counter.turns, (call) => {
        if (call === 2) controller.abort();
      }),
      registry,
      source,
      { crawl: { ...timing, parser }, signal: controller.signal },
    );
    counter.stop();
    expect(summary.error).toBe(CANCELLED);
    expect(calls).toHaveLength(2);
    // The source stays, with no page recorded and no passage of the half-written one.
    expect(await registry.get(source.id)).toBeDefined();
    expect(await registry.pages(source.id)).toEqual([]);
    expect((await local.collections()).get('cancelled-midway') ?? 0).toBe(0);
  });
});
