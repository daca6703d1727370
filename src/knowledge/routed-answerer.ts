/**
 * Gives every question the collections routed to its place before the core sees it, so the
 * core stays free of places and routes. A question that already names its collections keeps
 * them (a front end that knows better, or a test). If the routes cannot be read, the question
 * fails as "knowledge base unavailable" rather than being answered from the wrong collections.
 */
import { failures } from '../core/failures.js';
import type { AnswerEvent, Answerer, Question, Turn } from '../core/types.js';
import { type Logger, silentLogger } from '../log.js';

export function routedAnswerer(
  inner: Answerer,
  collectionsFor: (question: Question) => Promise<readonly string[]>,
  log: Logger = silentLogger,
): Answerer {
  return {
    async *answer(question: Question, history?: readonly Turn[]): AsyncGenerator<AnswerEvent> {
      let collections: readonly string[];
      try {
        collections = question.collections ?? (await collectionsFor(question));
      } catch (error) {
        log.error({ err: error, questionId: question.id }, 'could not read the knowledge routes');
        yield { type: 'failure', failure: failures.unavailable('The knowledge base') };
        return;
      }
      yield* inner.answer({ ...question, collections }, history);
    },
  };
}
