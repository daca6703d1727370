import { describe, expect, it } from 'vitest';
import { wellFormed } from '../../src/render/neutralizer.js';
import { splitMarkdown } from '../../src/render/split-markdown.js';

const fencesBalanced = (message: string) => (message.match(/^```/gm) ?? []).length % 2 === 0;

describe('splitting long answers into platform-sized messages', () => {
  it('keeps a short answer as one message', () => {
    expect(splitMarkdown('Hello **world**', 2000)).toEqual(['Hello **world**']);
    expect(splitMarkdown('   \n\n', 2000)).toEqual([]);
  });

  it('splits a 2,500-character answer into two messages on a paragraph boundary', () => {
    const paragraph = (n: number) => `Paragraph ${n}: ${'lorem ipsum '.repeat(40).trim()}.`;
    const text = Array.from({ length: 5 }, (_, i) => paragraph(i + 1)).join('\n\n');
    expect(text.length).toBeGreaterThan(2000);
    const messages = splitMarkdown(text, 2000);
    expect(messages).toHaveLength(2);
    for (const message of messages) {
      expect(message.length).toBeLessThanOrEqual(2000);
      expect(message.startsWith('Paragraph')).toBe(true);
      expect(message.endsWith('.')).toBe(true);
    }
    expect(messages.join('\n\n')).toBe(text);
  });

  it('closes a code block at the cut and reopens it with its language in the next message', () => {
    const code = Array.from({ length: 120 }, (_, i) => `  console.log("line ${i}");`).join('\n');
    const text = `Run this:\n\n\`\`\`ts\n${code}\n\`\`\`\n\nDone.`;
    const messages = splitMarkdown(text, 1000);
    expect(messages.length).toBeGreaterThan(2);
    for (const message of messages) {
      expect(message.length).toBeLessThanOrEqual(1000);
      expect(fencesBalanced(message)).toBe(true);
    }
    expect(messages[1]!.startsWith('```ts\n')).toBe(true);
    // Indentation inside code survives the cut.
    expect(messages[1]!.split('\n')[1]).toMatch(/^ {2}console\.log/);
    // Every code line arrives exactly once.
    const received = messages.join('\n').match(/line \d+"/g) ?? [];
    expect(received).toHaveLength(120);
    expect(messages.at(-1)!.endsWith('Done.')).toBe(true);
  });

  it('moves a code block that starts late in a message to the next one instead of cutting it', () => {
    const prose = 'word '.repeat(155).trim();
    const block = '```sh\nnpm ci\nnpm run ask\n```';
    const messages = splitMarkdown(`${prose}\n\n${block}\n\nAfter.`, 800);
    expect(messages[0]).toBe(prose);
    expect(messages[1]).toContain(block);
  });

  it('cuts a single line longer than the limit at spaces, losing nothing', () => {
    const line = Array.from({ length: 600 }, (_, i) => `w${i}`).join(' ');
    const messages = splitMarkdown(line, 500);
    for (const message of messages) expect(message.length).toBeLessThanOrEqual(500);
    expect(messages.join(' ').split(' ')).toHaveLength(600);
  });

  it('handles tilde fences and unclosed fences from a cut-off answer', () => {
    const text = `~~~python\n${'print(1)\n'.repeat(200)}`;
    const messages = splitMarkdown(text, 300);
    for (const message of messages) {
      expect(message.length).toBeLessThanOrEqual(300);
      expect(message.startsWith('~~~python')).toBe(true);
      expect(message.trimEnd().endsWith('~~~')).toBe(true);
    }
  });

  it('finishes, within the limit, on fences too long to reopen and on long lines that merely contain one', () => {
    const longInfo = `\`\`\`${'x'.repeat(60)}\n${'code '.repeat(30)}\n\`\`\``;
    const midLine = '```python3-long-info-string-here<'.repeat(3);
    const tildes = `https://x.io/a${'~'.repeat(40)}\`\`\`\``.repeat(3);
    for (const text of [longInfo, midLine, tildes]) {
      const messages = splitMarkdown(text, 40);
      for (const message of messages) expect(message.length).toBeLessThanOrEqual(40);
      expect(messages.join('').replace(/\s|`/g, '')).toContain(text.replace(/\s|`/g, '').slice(0, 30));
    }
  });

  it('never cuts a character or an entity such as &lt; in half', () => {
    // Lines are cut 5 characters short of the limit (room for closing a code block).
    const text = `${'a'.repeat(33)}&lt;${'😀'.repeat(30)}`;
    const messages = splitMarkdown(text, 40);
    expect(messages[0]).toBe('a'.repeat(33));
    expect(messages[1]!.startsWith('&lt;😀')).toBe(true);
    for (const message of messages) expect(message).toBe(wellFormed(message));
    expect(messages.join('')).toBe(text);
  });
});
