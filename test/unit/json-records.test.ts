/**
 * JSON records from untrusted files: a field nested or sized to break what comes after the
 * parse (the copy back from the parser process, a store's JSON.stringify) is left out of the
 * record's metadata, the record itself kept; an attachment's records stop at its character
 * budget, as its text would.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadBytes } from '../../src/ingest/loaders.js';
import { DEFAULT_PARSE_SETTINGS, ParsePool, readLimits } from '../../src/ingest/parse-pool.js';

const pool = new ParsePool({ ...DEFAULT_PARSE_SETTINGS, threads: 1 });
afterAll(() => pool.close());

const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('JSON records', () => {
  it('reads a record whose field is nested 100,000 deep in a parser process, without that field', async () => {
    for (const nested of [deep(100_000), deepObject(100_000)]) {
      const file = `[{"text":"The venue is in Lisbon.","region":"EU","nested":${nested}}]`;
      const result = await pool.run({
        kind: 'file',
        name: 'venues.json',
        data: new Uint8Array(Buffer.from(file)),
        limits: readLimits(pool.settings, 'fail'),
        chunkAs: 'venues.json',
      });
      expect(result.document.kind).toBe('records');
      expect(result.chunks?.[0]?.text).toContain('The venue is in Lisbon.');
      expect(result.chunks?.[0]?.metadata).toMatchObject({ region: 'EU' });
      expect(result.chunks?.[0]?.metadata).not.toHaveProperty('nested');
      // What the stores do with it works.
      expect(JSON.parse(JSON.stringify(result.chunks?.[0]?.metadata))).toMatchObject({ region: 'EU' });
    }
  });

  it('keeps ordinary nested metadata, at most 64 fields, and none of a huge one', async () => {
    const fields = Array.from({ length: 200_000 }, (_, i) => `"k${i}":"v${i}"`).join(',');
    const file = `[{"text":"Deploys are on Tuesdays.","team":{"name":"ops","tags":["a","b"]},"big":"${'x'.repeat(10_000)}",${fields}}]`;
    const document = await loadBytes('records.json', Buffer.from(file));
    expect(document.kind).toBe('records');
    if (document.kind !== 'records') return;
    const metadata = document.records[0]?.metadata ?? {};
    expect(metadata.team).toEqual({ name: 'ops', tags: ['a', 'b'] });
    expect(metadata).not.toHaveProperty('big');
    expect(Object.keys(metadata)).toHaveLength(64);
  });

  it('keeps a field named __proto__ as data, never as the metadata object’s prototype', async () => {
    const document = await loadBytes('p.json', Buffer.from('[{"text":"x","__proto__":{"polluted":true}}]'));
    if (document.kind !== 'records') throw new Error('expected records');
    const metadata = document.records[0]?.metadata ?? {};
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
    expect((metadata as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.keys(metadata)).toEqual(['__proto__']);
  });

  it('cuts an attachment’s records at its character budget and says so; refuses them for ingestion', async () => {
    const file = JSON.stringify(Array.from({ length: 1_000 }, (_, i) => ({ text: `Record number ${i}.` })));
    const limits = { maxChars: 2_000, maxPages: 10 };
    const cut = await loadBytes('many.json', Buffer.from(file), { limits: { ...limits, overflow: 'cut' } });
    expect(cut).toMatchObject({ kind: 'records', truncated: true });
    if (cut.kind !== 'records') return;
    expect(cut.records.length).toBeGreaterThan(10);
    expect(
      cut.records.reduce((sum, r) => sum + r.text.length + (r.title?.length ?? 0), 0),
    ).toBeLessThanOrEqual(2_000);
    await expect(
      loadBytes('many.json', Buffer.from(file), { limits: { ...limits, overflow: 'fail' } }),
    ).rejects.toThrow(/more than 2,000 characters/);
  });
});
