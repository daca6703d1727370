/**
 * Raw HTML inside Markdown (a README's `<div>` block) is read in work linear in its length,
 * whatever it nests or leaves unmatched. Work is counted, never timed: characters read by the
 * tokenizer (`charCodeAt`) plus the elements each array search or `unshift` of an element
 * stack walks over, which is where htmlparser2's own `Parser` spent its time on every
 * unmatched end tag.
 */
import { describe, expect, it } from 'vitest';
import { markdownBlocks } from '../../src/text/markdown-blocks.js';

function countWork(work: () => void): number {
  const charCodeAt = String.prototype.charCodeAt;
  const { indexOf, includes, unshift } = Array.prototype;
  let count = 0;
  // biome-ignore-start lint/suspicious/noExplicitAny: patched built-ins are untyped by nature
  (String.prototype as any).charCodeAt = function (this: string, index: number) {
    count += 1;
    return charCodeAt.call(this, index);
  };
  (Array.prototype as any).indexOf = function (this: unknown[], ...args: [unknown, number?]) {
    count += this.length;
    return indexOf.apply(this, args);
  };
  (Array.prototype as any).includes = function (this: unknown[], ...args: [unknown, number?]) {
    count += this.length;
    return includes.apply(this, args);
  };
  (Array.prototype as any).unshift = function (this: unknown[], ...items: unknown[]) {
    count += this.length;
    return unshift.apply(this, items);
  };
  // biome-ignore-end lint/suspicious/noExplicitAny: patched built-ins are untyped by nature
  try {
    work();
  } finally {
    String.prototype.charCodeAt = charCodeAt;
    Object.assign(Array.prototype, { indexOf, includes, unshift });
  }
  return count;
}

describe('raw HTML in Markdown', () => {
  it('reads thousands of open elements followed by unmatched end tags in linear work', () => {
    // 800 KB of this took 15.7 s: each `</b>` searched the stack of open `<span>`s.
    const block = (n: number) => `<div>\n${'<span>'.repeat(n)}${'</b>'.repeat(n)}\nText after.`;
    const small = countWork(() => markdownBlocks(block(2_000)));
    const large = countWork(() => markdownBlocks(block(8_000)));
    expect(large / small).toBeLessThan(6.5);
  });

  it('still reads the text, headings, code and details of a README’s HTML', () => {
    const blocks = markdownBlocks(
      '<div align="center">\n<h1>Tool</h1>\n<p>Fast <code>grep</code>.</p>\n<details><summary>Install</summary>\n<pre>npm i tool</pre>\n</details>\n</div>',
    );
    expect(blocks).toEqual([
      { kind: 'heading', level: 1, text: 'Tool' },
      { kind: 'paragraph', text: 'Fast `grep`.' },
      { kind: 'heading', level: 0, text: 'Install', summary: true },
      { kind: 'code', lang: '', code: 'npm i tool' },
    ]);
  });
});
