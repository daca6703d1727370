import fc from 'fast-check';
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

describe('characters that are never part of a question', () => {
  const conversations = layerOver(unused, { maxQuestionChars: 2_000 });

  it('refuses a question of only invisible characters as empty', () => {
    for (const blank of [
      '\u200b\u200b\u200b',
      '\u202e\u2066\u200f',
      '\u3164\u3164',
      '\u2800 \u2800',
      '\u0000\u0001\u001b',
      '\ufeff\u00ad',
      '\u{e0041}\u{e0042}',
      // Format characters Unicode lists as such, whatever script they belong to.
      '\u{1d173}\u{1d17a}',
      '\u{1bca0}\u{1bca3}',
      '\ufff9\ufffb',
      '\u{13430}',
    ]) {
      expect(conversations.check(blank)).toMatchObject({ ok: false, kind: 'empty' });
    }
  });

  it('removes control characters (NUL, escapes, C1) and keeps tabs, line breaks and every letter', () => {
    expect(conversations.check('How\u0000 do I\u001b[2J deploy?\u0085\u009b')).toEqual({
      ok: true,
      question: 'How do I[2J deploy?',
    });
    expect(conversations.check('first line\nsecond\tline')).toEqual({
      ok: true,
      question: 'first line\nsecond\tline',
    });
    expect(conversations.check('مرحبا\u200f? 👋🏽 e\u0301')).toEqual({
      ok: true,
      question: 'مرحبا\u200f? 👋🏽 e\u0301',
    });
  });

  it('never accepts a question holding a control character or nothing visible (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (raw) => {
        const checked = conversations.check(raw);
        if (!checked.ok) return;
        // biome-ignore lint/suspicious/noControlCharactersInRegex: what must never pass.
        expect(checked.question).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/);
        expect(checked.question.trim()).toBe(checked.question);
        expect(checked.question.length).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });
});
