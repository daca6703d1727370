/**
 * The HTML and sitemap readers over generated markup (fast-check): whatever the nesting, every
 * word of kept text reaches the Markdown and no word of a dropped element does; sitemaps give
 * back exactly their addresses; arbitrary input never throws and never outgrows its budget.
 * The hostile shapes of issue 17 are read in one pass each (they took the old patterns minutes).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { htmlOutputLimit, readHtml, readPage } from '../../src/ingest/html.js';
import { sitemapLocations } from '../../src/ingest/sitemap.js';
import { backtrackingHtml, commentBombPage, unclosedLocSitemap } from '../support/hostile-docs.js';

interface Node {
  readonly html: string;
  /** Words a reader should find. */
  readonly kept: readonly string[];
  /** Words that must not reach the Markdown. */
  readonly dropped: readonly string[];
}

const word = fc.stringMatching(/^[a-z]{3,8}$/);
const words = fc.array(word, { minLength: 1, maxLength: 4 });
const text: fc.Arbitrary<Node> = words.map((ws) => ({ html: ws.join(' '), kept: ws, dropped: [] }));
const CONTAINERS = ['div', 'p', 'b', 'em', 'span', 'li', 'blockquote', 'h2', 'section', 'td', 'code'];

const tree: fc.Arbitrary<Node> = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    fc
      .tuple(fc.constantFrom(...CONTAINERS), fc.array(tie('node'), { maxLength: 4 }))
      .map(([tag, children]) => ({
        html: `<${tag}>${children.map((c) => c.html).join(' ')}</${tag}>`,
        kept: children.flatMap((c) => c.kept),
        dropped: children.flatMap((c) => c.dropped),
      })),
    fc.tuple(fc.constantFrom('script', 'style', 'template'), words).map(([tag, ws]) => ({
      html: `<${tag}>${ws.map((w) => `x${w}x`).join(' ')}</${tag}>`,
      kept: [],
      dropped: ws.map((w) => `x${w}x`),
    })),
    fc.tuple(fc.webUrl(), words).map(([url, ws]) => ({
      html: `<a href="${url}">${ws.join(' ')}</a>`,
      kept: ws,
      dropped: [],
    })),
  ),
})).node;

describe('reading HTML', () => {
  it('keeps every word of the text and none of scripts, styles and templates, at any nesting', () => {
    fc.assert(
      fc.property(fc.array(tree, { minLength: 1, maxLength: 6 }), (nodes) => {
        const html = `<html><head><title>t</title></head><body>${nodes.map((n) => n.html).join('\n')}</body></html>`;
        const { markdown } = readHtml(html, { mode: 'file' });
        for (const w of nodes.flatMap((n) => n.kept)) expect(markdown).toContain(w);
        for (const w of nodes.flatMap((n) => n.dropped)) expect(markdown).not.toContain(w);
      }),
    );
  });

  it('never throws on arbitrary markup-like input, stays within its budget, and lists only web links', () => {
    const piece = fc.constantFrom(
      '<',
      '>',
      '</',
      '/>',
      '<!--',
      '-->',
      '<![CDATA[',
      ']]>',
      '&',
      '&amp;',
      '&#',
      '"',
      "'",
      '=',
      ' ',
      '\n',
      'a',
      'div',
      'p',
      'li',
      'table',
      'td',
      'script',
      'pre',
      'href',
      'base',
      'http://x.test/',
      'javascript:',
      '#',
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 300 }),
        fc.integer({ min: 0, max: 200 }),
        (parts, maxChars) => {
          const html = parts.join('');
          const page = readPage(html, 'https://docs.example.com/a/', { maxChars });
          expect(page.markdown.length).toBeLessThanOrEqual(maxChars);
          for (const link of page.links) expect(link).toMatch(/^https?:\/\//);
        },
      ),
    );
  });

  it('takes the page’s <main> (else <article>), its title, and resolves links against <base href>', () => {
    const page = readPage(
      '<html><head><title>Guide &amp; more</title><base href="/docs/"></head><body><nav><a href="x.html">nav</a></nav>' +
        '<article><p>article text</p></article><main><h1>Guide</h1><p>Main <b>bold</b> text, <a href="y.html">a link</a>.</p></main>' +
        '<footer>foot</footer></body></html>',
      'https://example.com/start/page.html',
    );
    expect(page.title).toBe('Guide & more');
    expect(page.markdown).toBe('# Guide\n\nMain **bold** text, [a link](y.html).');
    expect(page.links).toEqual(['https://example.com/docs/x.html', 'https://example.com/docs/y.html']);
  });

  it('reads the hostile shapes of issue 17 in one pass each', () => {
    const titled = readHtml(backtrackingHtml(2 * 1_048_576), { mode: 'file' });
    expect(titled.markdown).toBe('');
    expect(titled.title?.length).toBe(300);
    expect(readPage(commentBombPage(2 * 1_048_576), 'https://x.test/').markdown).toBe('');
    const nested = `${'<div>'.repeat(200_000)}deep${'</span>'.repeat(200_000)}`;
    expect(readHtml(nested, { mode: 'file' }).markdown).toBe('deep');
    expect(sitemapLocations(unclosedLocSitemap(2 * 1_048_576))).toEqual({ pages: [], sitemaps: [] });
  });

  /** Markup that multiplies: unclosed inline marks, links and cells, wide and long tables, line breaks. */
  const multiplier = fc.constantFrom(
    '<b>',
    '<em>',
    '<a href="/x">',
    '<td>',
    '<tr>',
    '<th>',
    '<table>',
    '<br>',
    '<li>',
    '<ul>',
    '<blockquote>',
    '<h2>',
    '<code>',
    'x',
    'y ',
  );

  it('turns any repetition of multiplying markup into Markdown a few times its size at most, and the same each time', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(multiplier, fc.integer({ min: 1, max: 3_000 })), { maxLength: 6 }),
        (runs) => {
          const html = runs.map(([piece, times]) => piece.repeat(times)).join('');
          const { markdown } = readHtml(html, { mode: 'file' });
          expect(markdown.length).toBeLessThanOrEqual(htmlOutputLimit(html.length));
          expect(readHtml(html, { mode: 'file' }).markdown).toBe(markdown);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads the multiplying shapes of issue 17’s review in one pass each: marks never closed, tables of one wide row', () => {
    const marks = `${'<b>'.repeat(60_000)}${'x<br>'.repeat(60_000)}`;
    const bold = readHtml(marks, { mode: 'file' }).markdown;
    expect(bold.startsWith('**'.repeat(60_000))).toBe(true);
    expect(bold.split('\n').length).toBe(60_000);
    const linked = readHtml(`<td>${'<a href="/x">'.repeat(60_000)}${'x<br>'.repeat(60_000)}`, {
      mode: 'file',
    });
    expect(linked.markdown.length).toBeGreaterThan(60_000);
    const table = `<table><tr>${'<td>x'.repeat(20_000)}${'<tr><td>y'.repeat(20_000)}</table>`;
    const read = readHtml(table, { mode: 'file' });
    expect(read.markdown.length).toBeLessThanOrEqual(htmlOutputLimit(table.length));
    const lines = read.markdown.split('\n');
    // The header is as wide as the table's column cap; every other row is as wide as it is.
    expect(lines[0]?.split(' | ').length).toBe(32);
    expect(lines.slice(2).every((row) => row === '| y |')).toBe(true);
    expect(lines.length).toBe(20_002);
    // 500,000 rows: no spread of a row count into Math.max.
    const rows = readHtml(`<table>${'<tr><td>r'.repeat(500_000)}</table>`, { mode: 'file' });
    expect(rows.markdown.split('\n').length).toBeGreaterThan(100_000);
  });
});

describe('reading sitemaps', () => {
  it('gives back exactly the addresses of a sitemap, with or without prefixes, CDATA or escapes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.webUrl({ withQueryParameters: true }), { maxLength: 20 }),
        fc.boolean(),
        fc.boolean(),
        (urls, prefixed, cdata) => {
          const p = prefixed ? 'sm:' : '';
          const loc = (url: string) =>
            cdata ? `<![CDATA[${url}]]>` : url.replace(/&/g, '&amp;').replace(/</g, '&lt;');
          const xml = `<?xml version="1.0"?><${p}urlset xmlns${prefixed ? ':sm' : ''}="http://www.sitemaps.org/schemas/sitemap/0.9">${urls
            .map(
              (url) =>
                `<${p}url>\n  <${p}loc> ${loc(url)} </${p}loc><${p}lastmod>2026-01-01</${p}lastmod></${p}url>`,
            )
            .join('')}</${p}urlset>`;
          expect(sitemapLocations(xml)).toEqual({ pages: urls.map((u) => u.trim()), sitemaps: [] });
        },
      ),
    );
  });

  it('reads a sitemap index, an unescaped & and never throws on junk', () => {
    expect(
      sitemapLocations('<sitemapindex><sitemap><loc>https://x.test/a.xml</loc></sitemap></sitemapindex>'),
    ).toEqual({ pages: [], sitemaps: ['https://x.test/a.xml'] });
    expect(
      sitemapLocations(
        '<urlset><url><loc>https://x.test/?a=1&b=2</loc></url><url><loc>https://x.test/z</loc></url></urlset>',
      ).pages,
    ).toEqual(['https://x.test/?a=1&b=2', 'https://x.test/z']);
    fc.assert(fc.property(fc.string({ maxLength: 500 }), (junk) => void sitemapLocations(junk)));
  });
});
