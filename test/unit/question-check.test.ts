import { describe, expect, it } from 'vitest';
import type { Answerer } from '../../src/core/types.js';
import { layerOver } from '../support/conversations.js';

const unused: Answerer = {
  answer: () => {
    throw new Error('checking a question never answers it');
  },
};

describe('checking a question before anything is posted', () => {
  const conversations = layerOver(unused, { maxQuestionChars: 2_000 });

  it('accepts a question within the limit, trimmed', () => {
    expect(conversations.check('  How do I deploy?  ')).toEqual({ ok: true, question: 'How do I deploy?' });
  });

  it('refuses an empty or over-long one with the core’s wording', () => {
    expect(conversations.check('   ')).toMatchObject({ ok: false, kind: 'empty' });
    expect(conversations.check(undefined)).toMatchObject({ ok: false, kind: 'empty' });
    const long = conversations.check('x'.repeat(100_000));
    expect(long).toMatchObject({ ok: false, kind: 'too_long' });
    expect(long.ok ? '' : long.message).toContain('100,000 characters long; the limit is 2,000');
  });
});
