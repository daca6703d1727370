/**
 * The comparison row of `npm run eval -- --baseline`: a plain BM25 library
 * (wink-bm25-text-search with its usual Porter stemming and stop words) over the same chunks,
 * built in memory. It has no relevance floor of its own, so only its ranking is compared.
 * Both packages are development dependencies: the bot never loads them.
 */
import type { Chunk, KnowledgeStore, Passage, Retriever, SearchOptions, StoreStats } from '../core/types.js';

/** Collects what ingestion would write, so the baseline indexes exactly the same chunks. */
export class ChunkCollector implements KnowledgeStore {
  readonly description = 'chunk collector';
  readonly defaultMinScore = 0;
  readonly chunks: Chunk[] = [];

  async search(): Promise<Passage[]> {
    return [];
  }
  async upsert(chunks: readonly Chunk[]): Promise<void> {
    for (const chunk of chunks) this.chunks.push(chunk);
  }
  async delete(): Promise<void> {}
  async listIds(): Promise<Map<string, string>> {
    return new Map();
  }
  async reset(): Promise<void> {
    this.chunks.length = 0;
  }
  async stats(): Promise<StoreStats> {
    return { vectorCount: this.chunks.length };
  }
}

export async function winkBaseline(chunks: readonly Chunk[]): Promise<Retriever> {
  let modules: [typeof import('wink-bm25-text-search'), typeof import('wink-nlp-utils')];
  try {
    modules = await Promise.all([import('wink-bm25-text-search'), import('wink-nlp-utils')]);
  } catch {
    throw new Error('The baseline needs the development dependencies: run npm ci (not npm ci --omit=dev).');
  }
  const [{ default: bm25 }, { default: nlp }] = modules;
  const engine = bm25();
  engine.defineConfig({ fldWeights: { title: 1, body: 1 } });
  engine.definePrepTasks([
    nlp.string.lowerCase,
    nlp.string.tokenize0,
    nlp.tokens.removeWords,
    nlp.tokens.stem,
  ]);
  const byIndex = [...chunks];
  byIndex.forEach((chunk, i) => {
    engine.addDoc({ title: chunk.title ?? '', body: chunk.text }, i);
  });
  engine.consolidate();
  return {
    description: 'wink-bm25-text-search (baseline)',
    defaultMinScore: 0,
    async search(query: string, options: SearchOptions): Promise<Passage[]> {
      return engine.search(query, options.topK).map(([id, score]) => {
        const chunk = byIndex[Number(id)]!;
        return {
          id: chunk.id,
          text: chunk.text,
          source: chunk.source,
          ...(chunk.title ? { title: chunk.title } : {}),
          ...(chunk.url ? { url: chunk.url } : {}),
          metadata: chunk.metadata,
          score,
        };
      });
    },
  };
}
