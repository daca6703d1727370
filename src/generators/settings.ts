/** Groq generation: the key, the models and how long and how often to wait on the API. */
import { defineSettings } from '../settings/area.js';
import { int, optionalString, optionalUrl, text } from '../settings/variables.js';

export interface GroqSlice {
  readonly groq: {
    readonly apiKey?: string;
    readonly model: string;
    readonly condenseModel: string;
    readonly baseURL?: string;
    readonly timeoutMs: number;
    readonly maxRetries: number;
    readonly retryBudgetMs: number;
  };
}

export const groqSettings = defineSettings({
  variables: {
    GROQ_API_KEY: optionalString,
    GROQ_MODEL: text('llama-3.1-8b-instant'),
    /** Model for condensing follow-ups into standalone questions; defaults to GROQ_MODEL. */
    GROQ_CONDENSE_MODEL: optionalString,
    GROQ_BASE_URL: optionalUrl('an OpenAI-compatible API base such as https://api.groq.com'),
    GROQ_TIMEOUT_MS: int(30_000, 1_000, 600_000),
    GROQ_MAX_RETRIES: int(2, 0, 10),
    /** Total time the bot may spend waiting on Groq `retry-after` before telling the user. */
    GROQ_RETRY_BUDGET_MS: int(20_000, 0, 300_000),
  },
  secrets: ['GROQ_API_KEY'],
  build: (env): GroqSlice => ({
    groq: {
      ...(env.GROQ_API_KEY ? { apiKey: env.GROQ_API_KEY } : {}),
      model: env.GROQ_MODEL,
      condenseModel: env.GROQ_CONDENSE_MODEL ?? env.GROQ_MODEL,
      ...(env.GROQ_BASE_URL ? { baseURL: env.GROQ_BASE_URL } : {}),
      timeoutMs: env.GROQ_TIMEOUT_MS,
      maxRetries: env.GROQ_MAX_RETRIES,
      retryBudgetMs: env.GROQ_RETRY_BUDGET_MS,
    },
  }),
});
