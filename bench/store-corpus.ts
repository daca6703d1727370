/**
 * A deterministic synthetic knowledge base for the local store's scale benchmark: words drawn
 * from a Zipf distribution over a 40,000-word vocabulary (plus English function words), so
 * term statistics resemble real prose: a few words everywhere, most words rare. Records are
 * written as JSON files ready for `npm run ingest`, one record = one chunk.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const FUNCTION_WORDS =
  'the of and to in is was for on with as by at from that which it an are be this or its'.split(' ');
const SYLLABLES =
  'ka to ri mu se la no vi de pa gu shi ren tor mal bex qui ost lan der fi zo ham pel cru wen'.split(' ');
const VOCABULARY = 40_000;

/** mulberry32: small, fast, seedable. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function word(rank: number): string {
  if (rank < FUNCTION_WORDS.length) return FUNCTION_WORDS[rank]!;
  let n = rank;
  let out = '';
  do {
    out += SYLLABLES[n % SYLLABLES.length];
    n = Math.floor(n / SYLLABLES.length);
  } while (n > 0);
  return out.length < 4 ? `${out}ra` : out;
}

export class ZipfWords {
  private readonly cdf: Float64Array;
  private readonly next: () => number;

  constructor(seed: number, exponent = 1.05) {
    this.next = random(seed);
    this.cdf = new Float64Array(VOCABULARY);
    let sum = 0;
    for (let rank = 0; rank < VOCABULARY; rank++) {
      sum += 1 / (rank + 1) ** exponent;
      this.cdf[rank] = sum;
    }
    for (let rank = 0; rank < VOCABULARY; rank++) this.cdf[rank]! /= sum;
  }

  /** A word; `minRank` skips the most frequent ones (for question words). */
  draw(minRank = 0): string {
    for (;;) {
      const target = this.next();
      let low = 0;
      let high = VOCABULARY - 1;
      while (low < high) {
        const mid = (low + high) >> 1;
        if (this.cdf[mid]! < target) low = mid + 1;
        else high = mid;
      }
      if (low >= minRank) return word(low);
    }
  }

  passage(sentences: number): string {
    const out: string[] = [];
    for (let s = 0; s < sentences; s++) {
      const length = 9 + Math.floor(this.next() * 8);
      const words = Array.from({ length }, () => this.draw());
      const first = words[0]!;
      words[0] = first[0]!.toUpperCase() + first.slice(1);
      out.push(`${words.join(' ')}.`);
    }
    return out.join(' ');
  }
}

/** Writes `chunks` records over files of `perFile` records; returns the folder. */
export async function writeCorpus(dir: string, chunks: number, perFile = 1_000): Promise<string> {
  const words = new ZipfWords(42);
  await mkdir(dir, { recursive: true });
  for (let file = 0; file * perFile < chunks; file++) {
    const records = [];
    for (let i = file * perFile; i < Math.min(chunks, (file + 1) * perFile); i++) {
      records.push({ id: String(i), title: `${words.draw(200)} ${words.draw(200)}`, text: words.passage(8) });
    }
    await writeFile(join(dir, `part-${String(file).padStart(4, '0')}.json`), JSON.stringify(records));
  }
  return dir;
}

/** Questions that look like a user's: a few content words of mixed rarity. */
export function questions(count: number): string[] {
  const words = new ZipfWords(7);
  return Array.from(
    { length: count },
    () =>
      `What does the ${words.draw(60)} of ${words.draw(300)} say about ${words.draw(60)} ${words.draw(1_000)}?`,
  );
}
