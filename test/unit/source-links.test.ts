import { describe, expect, it } from 'vitest';
import { safeHttpUrl, toSources } from '../../src/core/sources.js';

describe('links to documents', () => {
  it('keeps web addresses only', () => {
    for (const raw of [
      '!here',
      '@U999',
      '<!channel>',
      'javascript:alert(1)',
      'data:text/html,<b>x</b>',
      'mailto:a@b.c',
      'docs/a.md',
      'http://',
      ' ',
    ])
      expect(safeHttpUrl(raw)).toBeUndefined();
    expect(safeHttpUrl('HTTPS://Example.com/Guide')).toBe('https://example.com/Guide');
    expect(safeHttpUrl('http://localhost:8080/a?b=c#d')).toBe('http://localhost:8080/a?b=c#d');
  });

  it('encodes what could end a link or open a mention inside one', () => {
    expect(safeHttpUrl('https://example.com/a> <!channel')).toBe('https://example.com/a%3E%20%3C!channel');
    expect(safeHttpUrl('https://example.com/?q="x"&y=\'z\'`')).not.toMatch(/["'`<> ]/);
  });

  it('gives sources a URL only when it is a web address', () => {
    const passage = { text: 'Zebra canteen hours.', score: 1, source: 'zebra.md', metadata: {} };
    const [bad, good] = toSources([
      { ...passage, id: 'a', title: 'Zebra', url: '!here' },
      { ...passage, id: 'b', title: 'Zebra', url: 'https://example.com/zebra' },
    ]);
    expect(bad).not.toHaveProperty('url');
    expect(good?.url).toBe('https://example.com/zebra');
  });
});
