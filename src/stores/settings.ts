/** Upstash Vector as the store: both credentials, or neither for the embedded local store. */
import { defineSettings, pairProblem } from '../settings/area.js';
import { optionalString, optionalUrl, text } from '../settings/variables.js';

export interface UpstashSlice {
  readonly upstash?: { readonly url: string; readonly token: string; readonly namespace: string };
}

export const upstashSettings = defineSettings({
  variables: {
    UPSTASH_VECTOR_REST_URL: optionalUrl('the REST URL from the Upstash console'),
    UPSTASH_VECTOR_REST_TOKEN: optionalString,
    UPSTASH_VECTOR_NAMESPACE: text(''),
  },
  secrets: ['UPSTASH_VECTOR_REST_TOKEN'],
  problems: (set) =>
    pairProblem(
      set,
      'UPSTASH_VECTOR_REST_URL',
      'UPSTASH_VECTOR_REST_TOKEN',
      'both come from the Upstash console',
    ),
  build: (env): UpstashSlice =>
    env.UPSTASH_VECTOR_REST_URL && env.UPSTASH_VECTOR_REST_TOKEN
      ? {
          upstash: {
            url: env.UPSTASH_VECTOR_REST_URL,
            token: env.UPSTASH_VECTOR_REST_TOKEN,
            namespace: env.UPSTASH_VECTOR_NAMESPACE,
          },
        }
      : {},
});
