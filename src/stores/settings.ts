/** Upstash Vector as the store: both credentials, or neither for the embedded local store. */
import { defineSettings, pairProblem } from '../settings/area.js';
import { choice, optionalString, optionalUrl, text } from '../settings/variables.js';

/** How a hybrid index (a dense and a sparse vector per passage) is queried; see upstash.ts. */
export interface HybridSettings {
  /** How the dense and sparse results are fused: reciprocal rank (RRF) or distribution-based (DBSF). */
  readonly fusion: 'rrf' | 'dbsf';
  /** Which part ranks the passages: both fused, or the dense or sparse part alone. */
  readonly queryMode: 'hybrid' | 'dense' | 'sparse';
  /** Weighting of the sparse part: IDF, none, or `auto` (IDF with the BM25 model, none otherwise). */
  readonly weighting: 'auto' | 'idf' | 'none';
}

export interface UpstashSlice {
  readonly upstash?: {
    readonly url: string;
    readonly token: string;
    readonly namespace: string;
    /** Absent: the defaults (RRF, both parts, IDF for BM25). */
    readonly hybrid?: HybridSettings;
  };
}

export const upstashSettings = defineSettings({
  variables: {
    UPSTASH_VECTOR_REST_URL: optionalUrl('the REST URL from the Upstash console'),
    UPSTASH_VECTOR_REST_TOKEN: optionalString,
    UPSTASH_VECTOR_NAMESPACE: text(''),
    UPSTASH_VECTOR_FUSION: choice(['rrf', 'dbsf'], 'rrf', 'must be rrf or dbsf'),
    UPSTASH_VECTOR_QUERY_MODE: choice(
      ['hybrid', 'dense', 'sparse'],
      'hybrid',
      'must be hybrid, dense or sparse',
    ),
    UPSTASH_VECTOR_SPARSE_WEIGHTING: choice(['auto', 'idf', 'none'], 'auto', 'must be auto, idf or none'),
  },
  secrets: ['UPSTASH_VECTOR_REST_TOKEN'],
  problems: (set) =>
    pairProblem(
      set,
      'UPSTASH_VECTOR_REST_URL',
      'UPSTASH_VECTOR_REST_TOKEN',
      'both come from the Upstash console',
    ),
  build: (env): UpstashSlice => {
    if (!env.UPSTASH_VECTOR_REST_URL || !env.UPSTASH_VECTOR_REST_TOKEN) return {};
    const hybrid: HybridSettings = {
      fusion: env.UPSTASH_VECTOR_FUSION,
      queryMode: env.UPSTASH_VECTOR_QUERY_MODE,
      weighting: env.UPSTASH_VECTOR_SPARSE_WEIGHTING,
    };
    const defaults = hybrid.fusion === 'rrf' && hybrid.queryMode === 'hybrid' && hybrid.weighting === 'auto';
    return {
      upstash: {
        url: env.UPSTASH_VECTOR_REST_URL,
        token: env.UPSTASH_VECTOR_REST_TOKEN,
        namespace: env.UPSTASH_VECTOR_NAMESPACE,
        ...(defaults ? {} : { hybrid }),
      },
    };
  },
});
