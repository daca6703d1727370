/**
 * Documentation sites as their generators write them (Sphinx, MkDocs, Docusaurus, Hugo, rustdoc,
 * GitHub): what a reader sees is what gets indexed, and code stays a code block to quote.
 */
import { describe, expect, it } from 'vitest';
import { readHtml } from '../../src/ingest/html.js';

const page = (body: string) => readHtml(`<html><body><main>${body}</main></body></html>`, { mode: 'page' });

describe('headings on documentation sites', () => {
  it('leaves out the permalink mark a generator puts beside each heading', () => {
    const read = page(
      [
        '<h1>Pools<a class="headerlink" href="#pools" title="Link to this heading">¶</a></h1>',
        '<h2 id="install">Install<a href="#install" class="hash-link" aria-label="Direct link">\u200b</a></h2>',
        '<h2 id="examples"><a class="doc-anchor" href="#examples">§</a>Examples</h2>',
        '<h3><a class="anchor" href="#usage"><svg><path d="M0"/></svg></a>Usage</h3>',
      ].join(''),
    );
    expect(read.markdown).toBe('# Pools\n\n## Install\n\n## Examples\n\n### Usage');
    expect(read.markdown).not.toMatch(/[¶§\u200b]/);
  });

  it('leaves out permalink marks outside headings too (a Sphinx API signature)', () => {
    const read = page(
      '<dl class="py function"><dt id="acme.connect"><code>acme.connect</code>(<em>host</em>)<a class="headerlink" href="#acme.connect">¶</a></dt>' +
        '<dd><p>Opens a connection.</p></dd></dl>',
    );
    expect(read.markdown).toBe('`acme.connect`(_host_)\n\nOpens a connection.');
  });

  it('keeps the spaces of a heading that links to itself', () => {
    expect(page('<h2><a href="#x">Install <b>npm</b> <i>now</i></a></h2>').markdown).toBe(
      '## Install **npm** _now_',
    );
  });

  it('keeps a heading whose text is itself the link to it', () => {
    expect(page('<h2 id="setup"><a href="#setup">Setting up</a></h2><p>Text.</p>').markdown).toBe(
      '## Setting up\n\nText.',
    );
  });

  it('keeps a mark the heading really says, outside a permalink', () => {
    expect(page('<h2>Section § 4</h2>').markdown).toBe('## Section § 4');
  });

  it('titles a page without <title> by its first heading, without the mark', () => {
    expect(page('<h1>Pools<a class="headerlink" href="#pools">¶</a></h1>').title).toBe('Pools');
  });
});

describe('line-numbered code listings', () => {
  it('reads a Sphinx/Pygments listing as one code block, without its line numbers', () => {
    const read = page(
      '<p>Open a pool:</p><div class="highlight-python"><table class="highlighttable"><tr>' +
        '<td class="linenos"><div class="linenodiv"><pre>1\n2</pre></div></td>' +
        '<td class="code"><div class="highlight"><pre><span class="n">pool</span> = Pool(10)\nconn = pool.acquire()\n</pre></div></td>' +
        '</tr></table></div><p>Then use it.</p>',
    );
    expect(read.markdown).toBe(
      'Open a pool:\n\n```python\npool = Pool(10)\nconn = pool.acquire()\n```\n\nThen use it.',
    );
  });

  it('reads a Hugo/Chroma listing as one code block, keeping its language', () => {
    const read = page(
      '<div class="highlight"><div class="chroma"><table class="lntable"><tr>' +
        '<td class="lntd"><pre tabindex="0" class="chroma"><code><span class="lnt">1\n</span><span class="lnt">2\n</span></code></pre></td>' +
        '<td class="lntd"><pre tabindex="0" class="chroma"><code class="language-go" data-lang="go">' +
        '<span class="line"><span class="cl">x := 1\n</span></span><span class="line"><span class="cl">y := x + 1\n</span></span>' +
        '</code></pre></td></tr></table></div></div>',
    );
    expect(read.markdown).toBe('```go\nx := 1\ny := x + 1\n```');
  });

  it('keeps a data table holding code as a table, every cell in its column', () => {
    const read = page(
      '<table><tr><th>Status</th><th>Body</th></tr>' +
        '<tr><td>200</td><td><pre class="language-json">{"ok":true}</pre></td></tr>' +
        '<tr><td>404</td><td>none</td></tr></table>',
    );
    expect(read.markdown).toBe('| Status | Body |\n| --- | --- |\n| 200 | {"ok":true} |\n| 404 | none |');
  });

  it('keeps the language a Markdown renderer writes on the <code> inside <pre>', () => {
    expect(page('<pre><code class="language-ts">const a: number = 1;</code></pre>').markdown).toBe(
      '```ts\nconst a: number = 1;\n```',
    );
  });

  it('keeps numbers in an ordinary table', () => {
    expect(
      page('<table><tr><th>Code</th><th>Name</th></tr><tr><td>429</td><td>TooManyRequests</td></tr></table>')
        .markdown,
    ).toBe('| Code | Name |\n| --- | --- |\n| 429 | TooManyRequests |');
  });

  it("drops GitHub's copy button beside a code block", () => {
    const read = page(
      '<div class="highlight highlight-source-js"><pre>const x = 1</pre>' +
        '<div class="zeroclipboard-container"><clipboard-copy aria-label="Copy" value="const x = 1">copy</clipboard-copy></div></div>',
    );
    expect(read.markdown).toBe('```js\nconst x = 1\n```');
  });

  it('takes the language from the block around the listing, as MkDocs and Sphinx name it', () => {
    expect(
      page('<div class="language-python highlight"><pre><span></span><code>x = 1</code></pre></div>')
        .markdown,
    ).toBe('```python\nx = 1\n```');
    expect(page('<div class="highlight-default notranslate"><pre>x = 1</pre></div>').markdown).toBe(
      '```\nx = 1\n```',
    );
  });
});
