/** Answering: how many passages, how long a question, prompt and answer, where the local store lives. */
import { defineSettings } from '../settings/area.js';
import { folder, int, optionalNumber } from '../settings/variables.js';

export interface RagSlice {
  readonly rag: {
    readonly topK: number;
    readonly minScore?: number;
    readonly maxQuestionChars: number;
    readonly contextTokens: number;
    readonly maxAnswerTokens: number;
    readonly answerTimeoutMs: number;
    readonly dataDir: string;
    readonly knowledgeDir: string;
  };
}

export const ragSettings = defineSettings({
  variables: {
    RAG_TOP_K: int(3, 1, 50),
    /** Passages scoring below this are ignored; default depends on the store. */
    RAG_MIN_SCORE: optionalNumber(0, 1_000),
    RAG_MAX_QUESTION_CHARS: int(2_000, 50, 100_000),
    /** Token budget for history + passages in the answer prompt. */
    RAG_CONTEXT_TOKENS: int(6_000, 500, 120_000),
    RAG_MAX_ANSWER_TOKENS: int(1_024, 64, 32_000),
    RAG_ANSWER_TIMEOUT_MS: int(90_000, 1_000, 900_000),
    /** Folder of the embedded local store. */
    RAG_DATA_DIR: folder('.rag-data'),
    /** Knowledge folder indexed automatically when the local store is empty. */
    RAG_KNOWLEDGE_DIR: folder('knowledge'),
  },
  build: (env): RagSlice => ({
    rag: {
      topK: env.RAG_TOP_K,
      ...(env.RAG_MIN_SCORE !== undefined ? { minScore: env.RAG_MIN_SCORE } : {}),
      maxQuestionChars: env.RAG_MAX_QUESTION_CHARS,
      contextTokens: env.RAG_CONTEXT_TOKENS,
      maxAnswerTokens: env.RAG_MAX_ANSWER_TOKENS,
      answerTimeoutMs: env.RAG_ANSWER_TIMEOUT_MS,
      dataDir: env.RAG_DATA_DIR,
      knowledgeDir: env.RAG_KNOWLEDGE_DIR,
    },
  }),
});
