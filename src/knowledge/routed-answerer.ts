/**
 * Gives every question the collections routed to its place before the core sees it, so the
 * core stays free of places and routes. A question that already names its collections keeps
 * them (a front end that knows better, or a test).
 */
import type { AnswerEvent, Answerer, Question, Turn } from '../core/types.js';

export function routedAnswerer(
  inner: Answerer,
  collectionsFor: (question: Question) => readonly string[],
): Answerer {
  return {
    answer(question: Question, history?: readonly Turn[]): AsyncIterable<AnswerEvent> {
      const collections = question.collections ?? collectionsFor(question);
      return inner.answer({ ...question, collections }, history);
    },
  };
}
