import { describe, expect, it } from 'vitest';
import { checkQuestion } from '../../src/platforms/question.js';

describe('checking a question before anything is posted', () => {
  it('accepts a question within the limit, trimmed', () => {
    expect(checkQuestion('  How do I deploy?  ', 2_000)).toEqual({ ok: true, question: 'How do I deploy?' });
  });

  it('refuses an empty or over-long one with the core’s wording', () => {
    expect(checkQuestion('   ', 2_000)).toMatchObject({ ok: false, kind: 'empty' });
    expect(checkQuestion(undefined, 2_000)).toMatchObject({ ok: false, kind: 'empty' });
    const long = checkQuestion('x'.repeat(100_000), 2_000);
    expect(long).toMatchObject({ ok: false, kind: 'too_long' });
    expect(long.ok ? '' : long.message).toContain('100,000 characters long; the limit is 2,000');
  });
});
