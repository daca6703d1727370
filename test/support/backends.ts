/** The Groq and Upstash fakes with the sample knowledge base in the index: what every end-to-end suite starts from. */
import { join } from 'node:path';
import { ingestPaths } from '../../src/ingest/pipeline.js';
import { UpstashStore } from '../../src/stores/upstash.js';
import { ROOT } from '../e2e/cli.js';
import { type FakeGroq, startFakeGroq } from '../fakes/groq/index.js';
import { type FakeUpstash, startFakeUpstash } from '../fakes/upstash/index.js';

export interface Backends {
  readonly groq: FakeGroq;
  readonly upstash: FakeUpstash;
  /** Environment variables pointing the bot at the fakes. */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

export async function startBackends(): Promise<Backends> {
  const [groq, upstash] = await Promise.all([startFakeGroq(), startFakeUpstash()]);
  await ingestPaths(
    new UpstashStore({ url: upstash.url, token: upstash.token, namespace: '' }),
    [join(ROOT, 'knowledge')],
    {
      cwd: ROOT,
    },
  );
  return {
    groq,
    upstash,
    env: {
      GROQ_API_KEY: groq.apiKey,
      GROQ_BASE_URL: groq.baseURL,
      UPSTASH_VECTOR_REST_URL: upstash.url,
      UPSTASH_VECTOR_REST_TOKEN: upstash.token,
      // The fake's bag-of-words embedding scores lower than real models; 0.7 is tuned for those.
      RAG_MIN_SCORE: '0.55',
    },
    close: async () => {
      await Promise.all([groq.close(), upstash.close()]);
    },
  };
}
