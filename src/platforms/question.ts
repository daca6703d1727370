/**
 * Checks a question before anything is posted or echoed, so an over-long or empty question
 * is refused privately instead of being pasted into a channel first. The limit is the
 * core's (RAG_MAX_QUESTION_CHARS), and the wording is the core's, so every front end agrees.
 */
import { failures } from '../core/failures.js';

/** RAG_MAX_QUESTION_CHARS' default, for adapters built without the configured value. */
export const DEFAULT_MAX_QUESTION_CHARS = 2_000;

export type QuestionCheck =
  | { readonly ok: true; readonly question: string }
  | { readonly ok: false; readonly kind: 'empty' | 'too_long'; readonly message: string };

export function checkQuestion(raw: string | undefined, maxChars: number): QuestionCheck {
  const question = (raw ?? '').trim();
  if (!question) return { ok: false, kind: 'empty', message: failures.emptyQuestion().message };
  if (question.length > maxChars) {
    return {
      ok: false,
      kind: 'too_long',
      message: failures.questionTooLong(question.length, maxChars).message,
    };
  }
  return { ok: true, question };
}
