/**
 * An offline answer quotes only the passages that decided it (over the relevance floor), except
 * from a document the question names whose passages all fell under it: the person asked about
 * that thing, and another document merely outscored it on the question's other words.
 */
import { describe, expect, it } from 'vitest';
import type { Passage } from '../../src/core/types.js';
import { documentName } from '../../src/generators/extractive.js';
import { offlineAnswer } from '../support/offline-answer.js';

const answer = (question: string, passages: Passage[], deciding: string[]) =>
  offlineAnswer(question, passages, { deciding: new Set(deciding) });

const passage = (id: string, source: string, text: string): Passage => ({
  id,
  text,
  source,
  score: 1,
  metadata: {},
});

const loggerVariables = passage(
  'logger-env',
  'logger/README.md',
  'The logger reads a few environment variables. LOGGER_COLORS turns colours on. LOGGER_DEPTH sets how deep objects are printed.',
);
const queueDebugging = passage(
  'queue-debug',
  'queue/README.md',
  'Set the QUEUE_TRACE environment variable to print the queue debug information: `QUEUE_TRACE=1 node app.js`.',
);
const queueUsage = passage('queue-usage', 'queue/README.md', 'Create a queue and add jobs to it.');

describe('documents the question names', () => {
  it('are named by their file, or by their folder for a README or index', () => {
    expect(documentName('queue/README.md')).toBe('queue');
    expect(documentName('docs/guides/pretty.md')).toBe('pretty');
    expect(documentName('site/getting-started/index.html')).toBe('getting-started');
    expect(documentName('README.md')).toBe('README');
  });

  it('are quoted when none of their passages decided the answer', async () => {
    const text = await answer(
      'Which environment variable prints queue debug information?',
      [loggerVariables, queueDebugging, queueUsage],
      ['logger-env'],
    );
    expect(text).toContain('`QUEUE_TRACE=1 node app.js`');
  });

  it('stay out when the question does not name them, or names a document that decided', async () => {
    const unnamed = await answer(
      'Which environment variable prints debug information?',
      [loggerVariables, queueDebugging],
      ['logger-env'],
    );
    expect(unnamed).not.toContain('QUEUE_TRACE');
    // The queue's own decided passage is quoted, not its passages under the floor.
    const decided = await answer(
      'Which environment variable prints queue debug information?',
      [queueUsage, queueDebugging],
      ['queue-usage'],
    );
    expect(decided).not.toContain('QUEUE_TRACE');
  });
});
