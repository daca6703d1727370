/**
 * Chunking any text: the work grows in proportion to the text (counted, never timed), no word
 * is lost, and code blocks and lists that fit a chunk come out whole.
 *
 * Work is counted as the characters read one by one (`charCodeAt`, how markdown-it scans) plus,
 * for each regular expression run, the text it reads: from where it starts to the end of its
 * match, or to the end of the text when it finds none (a pattern anchored at the start reads
 * only what it matched). A parser that rescans the text from each position shows up as work
 * growing with the square of the length.
 */
import fc from 'fast-check';
import MarkdownIt from 'markdown-it';
import { describe, expect, it } from 'vitest';
import type { Chunk } from '../../src/core/types.js';
import { chunkDocument } from '../../src/ingest/chunk.js';
import { boundBlockquotes } from '../../src/text/markdown-blocks.js';

const MAX = 600;

function chunk(markdown: string, maxChars = MAX): Chunk[] {
  return chunkDocument({ kind: 'text', markdown }, 'doc.md', { maxChars });
}

/** Runs `work` synchronously, counting characters scanned and regular expression input. */
function countWork(work: () => void): number {
  const charCodeAt = String.prototype.charCodeAt;
  const exec = RegExp.prototype.exec;
  let count = 0;
  // biome-ignore lint/suspicious/noExplicitAny: patched built-ins are untyped by nature
  (String.prototype as any).charCodeAt = function (this: string, index: number) {
    count += 1;
    return charCodeAt.call(this, index);
  };
  RegExp.prototype.exec = function (this: RegExp, input: string) {
    const text = String(input);
    const from = this.global || this.sticky ? this.lastIndex : 0;
    const anchored = this.sticky || (this.source.startsWith('^') && !this.multiline);
    const found = exec.call(this, text);
    // What a search reads: up to the end of its match, or to the end of the text when it fails.
    const end = found ? found.index + found[0].length : anchored ? from : text.length;
    count += 1 + Math.max(0, end - from);
    return found;
  };
  try {
    work();
  } finally {
    String.prototype.charCodeAt = charCodeAt;
    RegExp.prototype.exec = exec;
  }
  return count;
}

/** Work for the text repeated n and 4n times: linear work grows about 4-fold, quadratic 16-fold. */
function growth(motif: string, n: number): number {
  const small = countWork(() => chunk(motif.repeat(n)));
  const large = countWork(() => chunk(motif.repeat(4 * n)));
  return large / Math.max(1, small);
}

/** The characters that steer Markdown parsers, where pathological inputs come from. */
const markup = fc.constantFrom(
  '#',
  '\u00a0',
  ' ',
  '\t',
  '\n',
  '*',
  '_',
  '`',
  '~',
  '[',
  ']',
  '(',
  ')',
  '<',
  '>',
  '!',
  '|',
  '-',
  '=',
  '1.',
  '\\',
  '&',
  ':',
  'a',
  'b',
  'http://',
  '<!--',
  '<details>',
  '```',
);

describe('the windowed blockquote rule', () => {
  it('parses exactly as markdown-it does, whatever the window', () => {
    const plain = new MarkdownIt('default', { html: true, linkify: false, typographer: false });
    const windowed = new MarkdownIt('default', { html: true, linkify: false, typographer: false });
    boundBlockquotes(windowed, 2);
    const unit = fc.constantFrom(
      '>',
      '> ',
      '\n',
      'a',
      ' ',
      '```',
      '~~~',
      '-',
      '1.',
      '|',
      '|-|',
      '\n\n',
      '===',
      '    ',
      '#',
      '*',
      '[a]: b',
      '<div>',
      '`',
    );
    const shape = (markdown: string, md: typeof plain) =>
      JSON.stringify(
        md
          .parse(markdown, {})
          .map((t) => [t.type, t.map, t.content, t.info, t.level, t.children?.map((c) => c.content)]),
      );
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 300 }), (parts) => {
        const markdown = parts.join('');
        expect(shape(markdown, windowed)).toBe(shape(markdown, plain));
      }),
      { numRuns: 500, endOnFailure: true },
    );
  });
});

describe('chunking work', () => {
  it('grows linearly with the text for any repeated pattern of markup', () => {
    fc.assert(
      fc.property(fc.array(markup, { minLength: 1, maxLength: 24 }), (parts) => {
        const motif = parts.join('');
        // About 6 KB against about 24 KB.
        const n = Math.ceil(6_000 / motif.length);
        expect(growth(motif, n)).toBeLessThan(6.5);
      }),
      { numRuns: 40 },
    );
  });

  it('stays linear where markdown-it alone does not: a quoted fence after every paragraph', () => {
    expect(growth('a\n>```\n', 1_500)).toBeLessThan(6.5);
  });

  it('stays linear on quotes nested many levels deep, each retried inside the one around it', () => {
    // Lines quoted 0 to 49 deep, over and over: a 22 KB file of them took 15 s, each level
    // of nesting doubling the work when every quote grew its window from the start again.
    const sawtooth = (depth: number, lines: number) =>
      Array.from({ length: lines }, (_, i) => `${'>'.repeat(i % depth)} a`).join('\n');
    const small = countWork(() => chunk(sawtooth(50, 200)));
    const file = sawtooth(50, 400);
    const large = countWork(() => chunk(file));
    // Twice the lines, about twice the work (it was 14 times), and a few dozen reads per character.
    expect(large / small).toBeLessThan(3.5);
    expect(large / file.length).toBeLessThan(300);
    // Quotes and lists nested in turn, and quotes that end inside their window at every depth.
    expect(growth('> - > - > - > a\n> - > b\n', 300)).toBeLessThan(6.5);
    expect(growth('> > a\n> > >```\n', 1_500)).toBeLessThan(6.5);
  });

  it('stays linear on the 18 KB file of headings padded with non-breaking spaces (issue 17)', () => {
    const line = `#${'\u00a0'.repeat(80)}Setup${'\u00a0'.repeat(80)}x\n`;
    const file = line.repeat(Math.ceil(18_000 / line.length));
    const chunks = chunk(file);
    expect(chunks.length).toBeGreaterThan(0);
    expect(growth(line, Math.ceil(18_000 / line.length))).toBeLessThan(6.5);
    // And a few dozen reads per character, not thousands.
    expect(countWork(() => chunk(file)) / file.length).toBeLessThan(100);
  });
});

const word = fc.stringMatching(/^[a-z]{3,9}$/);
const words = (min: number, max: number) => fc.array(word, { minLength: min, maxLength: max });
const sentence = words(3, 12).map((w) => `${w.join(' ')}.`);

type Part =
  | { kind: 'heading'; level: number; text: string[] }
  | { kind: 'paragraph'; sentences: string[] }
  | { kind: 'code'; lead: string; lines: string[][] }
  | { kind: 'list'; ordered: boolean; items: string[][] }
  | { kind: 'details'; summary: string[]; body: string[] };

const part: fc.Arbitrary<Part> = fc.oneof(
  fc.record({
    kind: fc.constant('heading' as const),
    level: fc.integer({ min: 1, max: 4 }),
    text: words(1, 4),
  }),
  fc.record({
    kind: fc.constant('paragraph' as const),
    sentences: fc.array(sentence, { minLength: 1, maxLength: 10 }),
  }),
  fc.record({
    kind: fc.constant('code' as const),
    lead: sentence.map((s) => `${s.slice(0, -1)}:`),
    lines: fc.array(words(1, 6), { minLength: 1, maxLength: 30 }),
  }),
  fc.record({
    kind: fc.constant('list' as const),
    ordered: fc.boolean(),
    items: fc.array(words(2, 10), { minLength: 1, maxLength: 12 }),
  }),
  fc.record({ kind: fc.constant('details' as const), summary: words(2, 6), body: words(3, 20) }),
);

function render(parts: readonly Part[]): string {
  return parts
    .map((p) => {
      switch (p.kind) {
        case 'heading':
          return `${'#'.repeat(p.level)} ${p.text.join(' ')}`;
        case 'paragraph':
          return p.sentences.join(' ');
        case 'code':
          return `${p.lead}\n\n\`\`\`js\n${p.lines.map((l) => `  ${l.join('_')}();`).join('\n')}\n\`\`\``;
        case 'list':
          return p.items.map((item, i) => `${p.ordered ? `${i + 1}.` : '-'} ${item.join(' ')}`).join('\n');
        case 'details':
          return `<details><summary>${p.summary.join(' ')}</summary>\n\n${p.body.join(' ')}\n\n</details>`;
        default:
          return '';
      }
    })
    .join('\n\n');
}

/** Words of headings, as markdown-it itself finds them: a heading with nothing under it heads no chunk. */
function headingWords(markdown: string): Set<string> {
  const tokens = new MarkdownIt('default', { html: true }).parse(markdown, {});
  return wordsOf(
    tokens
      .filter((token, i) => token.type === 'inline' && tokens[i - 1]?.type === 'heading_open')
      .map((token) => token.content)
      .join(' '),
  );
}

function wordsOf(text: string): Set<string> {
  return new Set(text.match(/[a-z]+/g) ?? []);
}

describe('chunking loses nothing', () => {
  it('keeps every word, code blocks that fit whole with their lead-in, and lists that fit whole', () => {
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 14 }), (parts) => {
        const markdown = render(parts);
        const chunks = chunk(markdown);
        const out = chunks.map((c) => c.text).join('\n');
        const have = wordsOf(out);
        // A heading with nothing under it (the next part is another heading) heads no chunk.
        const kept = parts.filter(
          (p, i) => p.kind !== 'heading' || (parts[i + 1] && parts[i + 1]!.kind !== 'heading'),
        );
        for (const w of wordsOf(render(kept).replace(/<\/?(details|summary)>/g, ''))) {
          if (w === 'js') continue;
          expect(have.has(w)).toBe(true);
        }
        const heading = (c: Chunk) => c.text.indexOf('\n\n') + 2;
        for (const c of chunks) expect(c.text.length - heading(c)).toBeLessThanOrEqual(MAX * 1.25);
        for (const [i, p] of parts.entries()) {
          // Lists one after the other are one list in Markdown.
          const besideList = parts[i - 1]?.kind === 'list' || parts[i + 1]?.kind === 'list';
          if (p.kind === 'code') {
            const code = p.lines.map((l) => `  ${l.join('_')}();`).join('\n');
            const whole = `${p.lead}\n\n\`\`\`js\n${code}\n\`\`\``;
            if (whole.length <= MAX) expect(chunks.some((c) => c.text.includes(whole))).toBe(true);
          }
          if (p.kind === 'list') {
            const list = p.items
              .map((item, i) => `${p.ordered ? `${i + 1}.` : '-'} ${item.join(' ')}`)
              .join('\n');
            if (list.length <= MAX && !besideList)
              expect(chunks.some((c) => c.text.includes(list))).toBe(true);
          }
        }
      }),
      { numRuns: 200, endOnFailure: true },
    );
  });

  it('keeps every word of arbitrary text made of Markdown markup', () => {
    // Without `<`, `&` and `[`: tags, entities and link targets are meant to go.
    const safeMarkup = markup.filter((m) => !/[<&[]/.test(m));
    fc.assert(
      fc.property(fc.array(fc.oneof(safeMarkup, word), { maxLength: 300 }), (parts) => {
        const markdown = parts.join('');
        const out = chunk(markdown, 200)
          .map((c) => c.text)
          .join('\n');
        const have = wordsOf(out);
        const headings = headingWords(markdown);
        for (const w of wordsOf(markdown)) if (!headings.has(w)) expect(have.has(w)).toBe(true);
      }),
      { numRuns: 1000, endOnFailure: true },
    );
  });
});
