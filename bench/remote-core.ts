/** The real core over the real SDKs, pointed at the fakes process: what every latency suite measures. */
import { RagCore } from '../src/core/rag-core.js';
import { GroqGenerator } from '../src/generators/groq.js';
import { UpstashStore } from '../src/stores/upstash.js';
import type { RemoteFakes } from './fakes-process.js';

export async function coreOverFakes(fakes: Omit<RemoteFakes, 'stop'>, passages = 50): Promise<RagCore> {
  const store = new UpstashStore({ url: fakes.upstashURL, token: fakes.upstashToken, namespace: '' });
  await store.upsert(
    Array.from({ length: passages }, (_, i) => ({
      id: `bench-${i}`,
      text: `Passage ${i}: to add the bot to Slack create an app from the manifest, step ${i}.`,
      source: `bench/${i}.md`,
      metadata: {},
    })),
  );
  return new RagCore({
    retriever: store,
    generator: new GroqGenerator({
      apiKey: fakes.groqKey,
      model: 'llama-3.1-8b-instant',
      condenseModel: 'llama-3.1-8b-instant',
      baseURL: fakes.groqURL,
      timeoutMs: 30_000,
      maxRetries: 0,
      retryBudgetMs: 0,
    }),
    options: {
      topK: 3,
      minScore: 0.5,
      maxQuestionChars: 2000,
      contextTokens: 6000,
      maxAnswerTokens: 512,
      answerTimeoutMs: 60_000,
    },
  });
}
