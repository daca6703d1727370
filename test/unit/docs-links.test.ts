/**
 * The README and docs/ pages link to each other, to source files and to headings: every
 * relative link must reach a file of the repository, and every #anchor a heading of the page
 * it points into (GitHub's slugs), so moving a section cannot leave a dead link behind.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import GithubSlugger from 'github-slugger';
import MarkdownIt, { type Token } from 'markdown-it';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const markdown = new MarkdownIt({ html: true });

const PAGES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** Every token, inline children included. */
function* walk(tokens: readonly Token[]): Generator<Token> {
  for (const token of tokens) {
    yield token;
    if (token.children) yield* walk(token.children);
  }
}

const tokensOf = (file: string, source = readFileSync(join(ROOT, file), 'utf8')) =>
  markdown.parse(source, {});

/** The anchors GitHub gives a page's headings: its slugs, numbered when repeated. */
function anchorsOf(file: string, source?: string): Set<string> {
  const slugger = new GithubSlugger();
  const tokens = tokensOf(file, source);
  const anchors = new Set<string>();
  tokens.forEach((token, i) => {
    if (token.type !== 'heading_open') return;
    const text = [...walk(tokens[i + 1]?.children ?? [])]
      .filter((child) => child.type === 'text' || child.type === 'code_inline')
      .map((child) => child.content)
      .join('');
    anchors.add(slugger.slug(text));
  });
  return anchors;
}

/** Every link and image target of a page. */
function targetsOf(file: string, source?: string): string[] {
  const targets: string[] = [];
  for (const token of walk(tokensOf(file, source))) {
    if (token.type === 'link_open') targets.push(String(token.attrGet('href') ?? ''));
    if (token.type === 'image') targets.push(String(token.attrGet('src') ?? ''));
  }
  return targets;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

/**
 * The links of `page` (or of `source`, read as if it were that page) that reach no file of the
 * repository, or no heading of the page they point into.
 */
function brokenLinks(page: string, source?: string): string[] {
  const broken: string[] = [];
  const anchors = (file: string) =>
    file === page && source !== undefined ? anchorsOf(file, source) : anchorsOf(file);
  for (const target of targetsOf(page, source)) {
    if (isExternal(target)) continue;
    const [path = '', anchor] = target.split('#', 2);
    const file = path ? relative(ROOT, resolve(ROOT, dirname(page), decodeURIComponent(path))) : page;
    if (file.startsWith('..') || !existsSync(join(ROOT, file))) {
      broken.push(`${target}: no file ${file}`);
    } else if (anchor === undefined) {
    } else if (!file.endsWith('.md') || statSync(join(ROOT, file)).isDirectory()) {
      broken.push(`${target}: an anchor into ${file}, which is not a Markdown page`);
    } else if (!anchors(file).has(decodeURIComponent(anchor))) {
      broken.push(`${target}: no heading #${anchor} in ${file}`);
    }
  }
  return broken;
}

describe('documentation links', () => {
  it.each(PAGES)('%s: every relative link reaches a file and every #anchor a heading', (page) => {
    expect(brokenLinks(page)).toEqual([]);
  });

  it('links every docs/ page from the README', () => {
    const linked = new Set(targetsOf('README.md').map((target) => target.split('#')[0]));
    expect(PAGES.filter((page) => page !== 'README.md' && !linked.has(page))).toEqual([]);
  });

  it('finds links that point nowhere (the check itself works)', () => {
    const page = [
      '# A page',
      '## The terminal: `npm run ask`',
      '## 👎 asks why',
      '[ok](#the-terminal-npm-run-ask) [ok](#-asks-why) [ok](#a-page) [ok](docs/configuration.md)',
      '[dead](#no-such-heading) [dead](docs/missing.md) [dead](docs/configuration.md#no-such-heading)',
      '![dead](docs/missing.png) [external](https://example.com/x#y)',
    ].join('\n\n');
    expect(brokenLinks('README.md', page)).toEqual([
      '#no-such-heading: no heading #no-such-heading in README.md',
      'docs/missing.md: no file docs/missing.md',
      'docs/configuration.md#no-such-heading: no heading #no-such-heading in docs/configuration.md',
      'docs/missing.png: no file docs/missing.png',
    ]);
  });
});
