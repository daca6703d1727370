/**
 * The pure parts of the source kinds: which kind reads a URL (and its canonical form), Git
 * hosts' web views, and the converters from reStructuredText, AsciiDoc, MDX, Notion blocks and
 * Confluence's storage format to Markdown, including hostile input (property tests: they never
 * throw, and what they return is never markup that could run).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asciidocToMarkdown } from '../../src/ingest/formats/asciidoc.js';
import { confluenceStorageToMarkdown } from '../../src/ingest/formats/confluence.js';
import { cleanMdx } from '../../src/ingest/formats/mdx.js';
import { type NotionBlock, notionBlocksToMarkdown } from '../../src/ingest/formats/notion.js';
import { rstToMarkdown } from '../../src/ingest/formats/rst.js';
import { sourceDocument } from '../../src/ingest/formats/source.js';
import { gitToken, parseHostTokens } from '../../src/knowledge/kinds/environment.js';
import { fileUrl, parseRepoUrl, tokenUsername } from '../../src/knowledge/kinds/git-hosts.js';
import { rateLimitWait } from '../../src/knowledge/kinds/http.js';
import { recogniseSource, sourceKinds } from '../../src/knowledge/kinds/index.js';
import { SourceError } from '../../src/knowledge/kinds/kind.js';
import { nextLink } from '../../src/knowledge/kinds/link-header.js';

const kinds = sourceKinds({});
const env = {
  NOTION_TOKEN: 'n',
  CONFLUENCE_URL: 'https://acme.atlassian.net/wiki',
  CONFLUENCE_EMAIL: 'a@b.c',
  CONFLUENCE_TOKEN: 't',
};
const kindOf = (url: string) => recogniseSource(kinds, url, env);
/** A Confluence tiny link's code, written here from Atlassian's description, not from our reader. */
const tinyCode = (id: bigint) => {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(id);
  let code = '';
  for (const char of bytes.toString('base64').replace(/=+$/, ''))
    code += char === '/' ? '-' : char === '+' ? '_' : char;
  return code.replace(/A+$/, '');
};

describe('which kind reads a URL', () => {
  it.each([
    ['https://github.com/acme/handbook', 'git', 'https://github.com/acme/handbook'],
    [
      'https://github.com/acme/handbook/tree/main/docs/',
      'git',
      'https://github.com/acme/handbook/tree/main/docs',
    ],
    [
      'https://gitlab.com/group/sub/repo/-/tree/main/docs',
      'git',
      'https://gitlab.com/group/sub/repo/-/tree/main/docs',
    ],
    [
      'https://codeberg.org/acme/site/src/branch/main/guide',
      'git',
      'https://codeberg.org/acme/site/src/branch/main/guide',
    ],
    ['https://git.example.com/scm/acme/handbook.git', 'git', 'https://git.example.com/scm/acme/handbook.git'],
    ['https://github.com/acme/widgets/issues', 'github', 'https://github.com/acme/widgets/issues'],
    [
      'https://github.com/acme/widgets/discussions?state=all',
      'github',
      'https://github.com/acme/widgets/discussions?state=all',
    ],
    [
      `https://www.notion.so/acme/Handbook-${'a'.repeat(32)}?pvs=4`,
      'notion',
      `https://www.notion.so/acme/Handbook-${'a'.repeat(32)}`,
    ],
    [
      'https://acme.atlassian.net/wiki/spaces/ENG/overview',
      'confluence',
      'https://acme.atlassian.net/wiki/spaces/ENG',
    ],
    [
      'https://acme.atlassian.net/wiki/spaces/ENG/pages/123/Deploying',
      'confluence',
      'https://acme.atlassian.net/wiki/spaces/ENG/pages/123',
    ],
    ['https://docs.example.com/guide/', 'web', 'https://docs.example.com/guide/'],
    ['https://github.com/acme/widgets/pulls', 'web', 'https://github.com/acme/widgets/pulls'],
  ])('%s → %s', (url, kind, canonical) => {
    const found = kindOf(url);
    expect(found.kind.name).toBe(kind);
    expect(found.url).toBe(canonical);
  });

  it('refuses what no kind reads, credentials in a URL, and a kind without its variables, saying why', () => {
    expect(() => kindOf('ftp://example.com/')).toThrow(SourceError);
    expect(() => kindOf('not a url')).toThrow(/is not a URL/);
    expect(() => kindOf('https://user:pass@github.com/acme/handbook')).toThrow(
      /tokens come from the environment/,
    );
    expect(() => recogniseSource(kinds, `https://www.notion.so/${'b'.repeat(32)}`, {})).toThrow(
      /NOTION_TOKEN/,
    );
    expect(() =>
      recogniseSource(kinds, 'https://acme.atlassian.net/wiki/spaces/ENG', {
        CONFLUENCE_URL: 'https://acme.atlassian.net/wiki',
      }),
    ).toThrow(/CONFLUENCE_EMAIL, CONFLUENCE_TOKEN/);
  });
});

describe('Notion and GitHub links', () => {
  const hex = '0123456789abcdef0123456789abcdef';
  const other = 'fedcba9876543210fedcba9876543210';
  it.each([
    [`https://www.notion.com/acme/Page-${hex}`, `https://www.notion.com/acme/Page-${hex}`],
    [`https://notion.so/${hex}?v=${other}`, `https://notion.so/${hex}`],
    [`https://acme.notion.site/Public-${hex}#block`, `https://acme.notion.site/Public-${hex}`],
    // A page peeked over its database: the page, by its id.
    [`https://www.notion.so/acme/${other}?v=aa&p=${hex}&pm=s`, `https://www.notion.so/${hex}`],
  ])('%s is the Notion source %s', (url, canonical) => {
    const found = kindOf(url);
    expect(found.kind.name).toBe('notion');
    expect(found.url).toBe(canonical);
  });

  it('says how to add a repository’s issues when given one issue or discussion', () => {
    expect(() => kindOf('https://github.com/acme/widgets/issues/12')).toThrow(
      /one issue; a source reads a repository's issues: add https:\/\/github\.com\/acme\/widgets\/issues/,
    );
    expect(() => kindOf('https://github.com/acme/widgets/discussions/3')).toThrow(/one discussion/);
  });
});

describe('Confluence links', () => {
  const site = { ...env, CONFLUENCE_URL: 'https://acme.atlassian.net' };
  const confluence = (url: string) => recogniseSource(kinds, url, site);

  it.each([
    ['https://acme.atlassian.net/wiki/spaces/ENG/overview', 'https://acme.atlassian.net/wiki/spaces/ENG'],
    ['https://acme.atlassian.net/wiki/spaces/ENG/pages', 'https://acme.atlassian.net/wiki/spaces/ENG'],
    [
      'https://acme.atlassian.net/wiki/spaces/ENG/pages/123/Deploying',
      'https://acme.atlassian.net/wiki/spaces/ENG/pages/123',
    ],
    [
      'https://acme.atlassian.net/wiki/spaces/ENG/pages/edit-v2/123',
      'https://acme.atlassian.net/wiki/spaces/ENG/pages/123',
    ],
    [
      'https://acme.atlassian.net/wiki/pages/viewpage.action?pageId=123',
      'https://acme.atlassian.net/wiki/pages/viewpage.action?pageId=123',
    ],
    // Tiny codes: 65538's bytes (02 00 01) and a Cloud-sized id's.
    [
      'https://acme.atlassian.net/wiki/x/AgAB',
      'https://acme.atlassian.net/wiki/pages/viewpage.action?pageId=65538',
    ],
    [
      `https://acme.atlassian.net/wiki/x/${tinyCode(2_949_185_537n)}`,
      'https://acme.atlassian.net/wiki/pages/viewpage.action?pageId=2949185537',
    ],
  ])('%s is read as %s, with CONFLUENCE_URL as Atlassian names the site', (url, canonical) => {
    const found = confluence(url);
    expect(found.kind.name).toBe('confluence');
    expect(found.url).toBe(canonical);
  });

  it('refuses what it would read as something else, and another site than CONFLUENCE_URL’s', () => {
    expect(() => confluence('https://acme.atlassian.net/wiki/spaces/ENG/blog/2024/01/01/456/Post')).toThrow(
      /blog post/,
    );
    expect(() => confluence('https://acme.atlassian.net/wiki/spaces/ENG/whiteboard/789')).toThrow(
      SourceError,
    );
    expect(() => confluence('https://other.atlassian.net/wiki/spaces/ENG')).toThrow(
      /not the Confluence site in CONFLUENCE_URL \(https:\/\/acme\.atlassian\.net\)/,
    );
  });
});

describe('Link headers and rate-limit headers', () => {
  it('finds the next page in a Link header, whatever the URL holds and however rel is written', () => {
    expect(
      nextLink('<https://api.example/x?page=2>; rel="next", <https://api.example/x?page=9>; rel="last"'),
    ).toBe('https://api.example/x?page=2');
    // A comma inside the URL, relations listed together, an unquoted rel, a relative target.
    expect(
      nextLink(
        '<https://a.example/p?keys=A,B&cursor=1>; rel="prev", <https://a.example/p?keys=A,B&cursor=3>; rel="next last"',
      ),
    ).toBe('https://a.example/p?keys=A,B&cursor=3');
    expect(
      nextLink('</wiki/api/v2/spaces/1/pages?cursor=abc>; rel=next, <https://x.example/wiki>; rel="base"'),
    ).toBe('/wiki/api/v2/spaces/1/pages?cursor=abc');
    expect(nextLink('<https://a.example/?page=1>; rel="first"')).toBeUndefined();
    expect(nextLink(undefined)).toBeUndefined();
    expect(nextLink('<unclosed; rel="next"')).toBeUndefined();
  });

  it('reads how long a limit asks to wait: seconds, dates, epoch and ISO resets', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    const wait = (status: number, headers: Record<string, string>) =>
      rateLimitWait(new Response(null, { status, headers }), now);
    expect(wait(429, { 'retry-after': '30' })).toBe(30_000);
    expect(wait(503, { 'retry-after': 'Sun, 01 Mar 2026 12:02:00 GMT' })).toBe(120_000);
    expect(wait(503, {})).toBeUndefined();
    // GitHub: epoch seconds once nothing remains; Atlassian: an ISO time on a 429.
    expect(wait(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 600) })).toBe(
      601_000,
    );
    expect(wait(429, { 'x-ratelimit-reset': '2026-03-01T12:05Z' })).toBe(301_000);
    expect(
      wait(403, { 'x-ratelimit-remaining': '12', 'x-ratelimit-reset': String(now / 1000 + 600) }),
    ).toBeUndefined();
  });
});

describe('Git hosts', () => {
  it('links a file at a commit on each host’s web view', () => {
    const at = (url: string) => fileUrl(parseRepoUrl(new URL(url))!, 'abc123', 'docs/a b.md');
    expect(at('https://github.com/acme/handbook')).toBe(
      'https://github.com/acme/handbook/blob/abc123/docs/a%20b.md',
    );
    expect(at('https://gitlab.com/g/s/repo/-/tree/main')).toBe(
      'https://gitlab.com/g/s/repo/-/blob/abc123/docs/a%20b.md',
    );
    expect(at('https://codeberg.org/acme/site/src/branch/main')).toBe(
      'https://codeberg.org/acme/site/src/commit/abc123/docs/a%20b.md',
    );
    expect(at('https://git.example.com/acme/handbook.git')).toBe('https://git.example.com/acme/handbook');
    expect(at('https://bitbucket.org/acme/handbook/src/main/docs')).toBe(
      'https://bitbucket.org/acme/handbook/src/abc123/docs/a%20b.md',
    );
  });

  it('reads a file’s blob link as the repository at that path, on GitHub and GitLab', () => {
    expect(parseRepoUrl(new URL('https://github.com/acme/handbook/blob/main/docs/a.md'))).toMatchObject({
      cloneUrl: 'https://github.com/acme/handbook.git',
      style: 'github',
      refAndPath: ['main', 'docs', 'a.md'],
    });
    expect(parseRepoUrl(new URL('https://gitlab.com/g/s/repo/-/blob/main/docs/a.md'))).toMatchObject({
      cloneUrl: 'https://gitlab.com/g/s/repo.git',
      style: 'gitlab',
      refAndPath: ['main', 'docs', 'a.md'],
    });
    expect(parseRepoUrl(new URL('https://bitbucket.org/ws/repo/src/main/docs/'))).toMatchObject({
      cloneUrl: 'https://bitbucket.org/ws/repo.git',
      style: 'bitbucket',
      refAndPath: ['main', 'docs'],
    });
  });

  it('sends a token beside the user name its host takes', () => {
    const style = (url: string) => parseRepoUrl(new URL(url))!.style;
    expect(tokenUsername(style('https://github.com/a/b'))).toBe('x-access-token');
    expect(tokenUsername(style('https://gitlab.example.com/a/b.git'))).toBe('oauth2');
    expect(tokenUsername(style('https://bitbucket.org/a/b'))).toBe('x-token-auth');
    expect(gitToken('bitbucket.org', { GIT_HOST_TOKENS: 'bitbucket.org=me:tok' })).toEqual({
      token: 'tok',
      username: 'me',
      variable: 'GIT_HOST_TOKENS (bitbucket.org)',
    });
  });

  it('reads per-host tokens, which win over GIT_TOKEN, and never echoes one in a complaint', () => {
    expect(
      gitToken('gitlab.example.com', { GIT_TOKEN: 'all', GIT_HOST_TOKENS: 'gitlab.example.com=mine' }),
    ).toEqual({
      token: 'mine',
      variable: 'GIT_HOST_TOKENS (gitlab.example.com)',
    });
    expect(
      gitToken('github.com', { GIT_TOKEN: 'all', GIT_TOKEN_HOSTS: 'gitlab.example.com, GitHub.com' }),
    ).toEqual({
      token: 'all',
      variable: 'GIT_TOKEN',
    });
    // GIT_TOKEN goes to the hosts it names only: any other gets no token, and is told what to set.
    expect(gitToken('evil.example', { GIT_TOKEN: 'all', GIT_TOKEN_HOSTS: 'github.com' })).toEqual({
      variable: 'GIT_HOST_TOKENS (evil.example=<token>), or GIT_TOKEN with evil.example in GIT_TOKEN_HOSTS',
    });
    expect(gitToken('github.com', { GIT_TOKEN: 'all' }).token).toBeUndefined();
    expect(() => parseHostTokens('gitlab.example.com:secret-value')).toThrow(/host=token/);
    try {
      parseHostTokens('ok.example=1,secret-value');
    } catch (error) {
      expect((error as Error).message).not.toContain('secret-value');
    }
  });
});

describe('reStructuredText to Markdown', () => {
  it('turns titles, literal blocks, code directives, admonitions and roles into Markdown', () => {
    const markdown = rstToMarkdown(
      [
        '=====',
        'Guide',
        '=====',
        '',
        'Setup',
        '-----',
        '',
        'Run this::',
        '',
        '    acme setup',
        '',
        '.. code-block:: python',
        '   :linenos:',
        '',
        '   print("hi")',
        '',
        '.. note:: Keep the key safe.',
        '',
        '.. toctree::',
        '   setup',
        '',
        'See :ref:`the setup <setup>` and `Acme <https://acme.example>`_, with ``code``.',
        '',
        '* one',
        '* two',
      ].join('\n'),
    );
    expect(markdown).toBe(
      [
        '# Guide',
        '',
        '## Setup',
        '',
        'Run this:',
        '',
        '```',
        'acme setup',
        '```',
        '',
        '```python',
        'print("hi")',
        '```',
        '',
        '> **Note:** Keep the key safe.',
        '',
        'See the setup and [Acme](https://acme.example), with `code`.',
        '',
        '- one',
        '- two',
      ].join('\n'),
    );
  });

  it('never throws, on any text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        expect(typeof rstToMarkdown(text)).toBe('string');
      }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('Title', '=====', '.. note::', '   x', '::', '`a <b>`_', ':r:`x`', ''), {
          maxLength: 60,
        }),
        (lines) => {
          expect(typeof rstToMarkdown(lines.join('\n'))).toBe('string');
        },
      ),
    );
  });
});

describe('AsciiDoc to Markdown', () => {
  it('turns sections, listings with their language, admonitions, tables and lists into Markdown, and drops what is not prose', () => {
    const markdown = asciidocToMarkdown(
      [
        '= Widget Guide',
        ':toc: left',
        '// a comment',
        '',
        'Widgets read `widget.yml`. See https://example.com/docs[the docs], <<setup,Setup>> and xref:faq.adoc[the FAQ].',
        '',
        '[[setup]]',
        '== Setup',
        '',
        '.Installing with npm',
        '[source,bash]',
        '----',
        'npm install widget',
        'widget init --yes',
        '----',
        '',
        'NOTE: Run init once per project.',
        '',
        '[WARNING]',
        '====',
        'Never commit your API key.',
        '====',
        '',
        '=== Options',
        '',
        '[cols="1,2"]',
        '|===',
        '|Option |Meaning',
        '',
        '|retries',
        '|How many times a failed call is retried.',
        '|===',
        '',
        '* First',
        '** Nested',
        '. Step one',
        '',
        'timeout::',
        '  Milliseconds before a call gives up.',
        '',
        '////',
        '== Not a heading',
        '////',
        '',
        '++++',
        '<script>alert(1)</script>',
        '++++',
        '',
        '....',
        'literal text',
        '....',
      ].join('\n'),
    );
    expect(markdown).toBe(
      [
        '# Widget Guide',
        '',
        'Widgets read `widget.yml`. See [the docs](https://example.com/docs), Setup and the FAQ.',
        '',
        '## Setup',
        '',
        '**Installing with npm**',
        '',
        '```bash',
        'npm install widget',
        'widget init --yes',
        '```',
        '',
        '> **Note:** Run init once per project.',
        '',
        '> **Warning:**',
        '> Never commit your API key.',
        '',
        '### Options',
        '',
        '| Option | Meaning |',
        '| --- | --- |',
        '| retries | How many times a failed call is retried. |',
        '',
        '- First',
        '  - Nested',
        '1. Step one',
        '',
        '- **timeout**: Milliseconds before a call gives up.',
        '',
        '```',
        'literal text',
        '```',
      ].join('\n'),
    );
  });

  it('reads a repository file named .adoc as AsciiDoc, titled by its document title', async () => {
    const data = new TextEncoder().encode(
      '= Runbook\n\n== Restarts\n\n[source,sh]\n----\nsystemctl restart widget\n----\n',
    );
    const document = await sourceDocument({ format: 'asciidoc', data, maxChars: 10_000 });
    expect(document.title).toBe('Runbook');
    expect(document.markdown).toBe('# Runbook\n\n## Restarts\n\n```sh\nsystemctl restart widget\n```');
  });

  it('reads documents as Asciidoctor does: attribute values, wrapped list items, whole link and footnote text, closing lines with trailing spaces', () => {
    const markdown = asciidocToMarkdown(
      [
        ':version: 2.3.1',
        '',
        'Acme {version} runs on Linux.footnote:[Tested on Linux, macOS and Windows.] See https://x.io[Hello, world] and menu:File[Save As].',
        '',
        '* Item one',
        '  wrapped onto a second line',
        '',
        '[,yaml]',
        '----',
        'a: 1',
        '---- ',
        '',
        '== Next',
        '',
        'Prose.',
      ].join('\n'),
    );
    expect(markdown).toBe(
      [
        'Acme 2.3.1 runs on Linux. (Tested on Linux, macOS and Windows.) See [Hello, world](https://x.io) and File › Save As.',
        '',
        '- Item one wrapped onto a second line',
        '',
        '```yaml',
        'a: 1',
        '```',
        '',
        '## Next',
        '',
        'Prose.',
      ].join('\n'),
    );
  });

  it('keeps every cell of a table, a piped command in a cell included', () => {
    const markdown = asciidocToMarkdown(
      [
        '[cols="1,2"]',
        '|===',
        '|`mode`',
        'a|Run:',
        '',
        'acme --mode prod | tee log',
        '|`dev`',
        '|or use ls',
        '|===',
      ].join('\n'),
    );
    expect(markdown).toBe(
      '| `mode` | Run: acme --mode prod \\| tee log |\n| --- | --- |\n| `dev` | or use ls |',
    );
  });

  it('reads many tables, and attribute references, in one pass each', () => {
    const tables = '|===\n|a\n|===\n'.repeat(20_000);
    expect(asciidocToMarkdown(tables).split('| a |').length).toBe(20_001);
    // Substituted values add at most the document's size again: the rest stay references.
    const bomb = `:x: ${'y'.repeat(256)}\n${'{x}'.repeat(100_000)}`;
    expect(asciidocToMarkdown(bomb).length).toBeLessThanOrEqual(3 * bomb.length);
  });

  it('never throws, on any text, and reads lines of unclosed marks in one pass', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        expect(typeof asciidocToMarkdown(text)).toBe('string');
      }),
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.constantFrom(
            '== T',
            '----',
            '====',
            '|===',
            '[source,js]',
            '[NOTE]',
            '.T',
            '* x',
            'a:: b',
            '<<a',
            'x[',
            '',
          ),
          { maxLength: 60 },
        ),
        (lines) => {
          expect(typeof asciidocToMarkdown(lines.join('\n'))).toBe('string');
        },
      ),
    );
    // Unclosed cross references and macros: each is looked at once, so the text comes back whole.
    const line = `${'<<'.repeat(50_000)}${'xref:'.repeat(50_000)}`;
    expect(asciidocToMarkdown(line)).toBe(line);
  });
});

describe('reStructuredText directives with prose', () => {
  it('keeps what Sphinx directives hold (API descriptions, tabs, glossaries, list tables) and drops included files', () => {
    const markdown = rstToMarkdown(
      [
        '.. py:function:: acme.connect(host, port=5432)',
        '',
        '   Opens a connection to the host.',
        '',
        '.. tabs::',
        '',
        '   .. tab:: Python',
        '',
        '      .. code-block:: python',
        '',
        '         acme.connect("db")',
        '',
        '.. glossary::',
        '',
        '   pool',
        '      A set of open connections.',
        '',
        '.. literalinclude:: ../examples/app.py',
        '   :language: python',
        '',
        '.. only:: html',
        '',
        '   Only in HTML.',
      ].join('\n'),
    );
    expect(markdown).toContain('`acme.connect(host, port=5432)`\n\nOpens a connection to the host.');
    expect(markdown).toContain('**Python**\n\n```python\nacme.connect("db")\n```');
    expect(markdown).toContain('A set of open connections.');
    expect(markdown).toContain('Only in HTML.');
    expect(markdown).not.toContain('app.py');
    expect(markdown).not.toContain('**html**');
  });

  it('reads a line of many colons in one pass: a role name is looked for nearby only', () => {
    const line = 'a:'.repeat(100_000);
    expect(rstToMarkdown(line)).toBe(line);
    expect(rstToMarkdown('See :py:meth:`Pool.acquire <acme.Pool.acquire>` first.')).toBe(
      'See Pool.acquire first.',
    );
  });
});

describe('MDX', () => {
  it('leaves out module lines but keeps code that shows them', () => {
    expect(
      cleanMdx(
        "import A from 'a';\nexport const meta = {\n  x: 1,\n};\n\n# Title\n\n```js\nimport b from 'b';\n```\n",
      ),
    ).toBe("\n# Title\n\n```js\nimport b from 'b';\n```\n");
  });

  it('ends a module statement where it ends, not at the next blank line, and knows a longer fence', () => {
    expect(cleanMdx("import X from 'y';\n# Title\n\nText.")).toBe('# Title\n\nText.');
    expect(cleanMdx("import {\n  a,\n  b,\n} from 'z'\nAfter.")).toBe('After.');
    expect(cleanMdx('export const meta = {\n  a: {\n    b: 1\n  }\n};\nText after.')).toBe('Text after.');
    // A four-backtick example holding a three-backtick one is one block, its imports and all.
    const example = "````md\n```js\nimport a from 'b';\n```\n````";
    expect(cleanMdx(`${example}\n\nEnd.`)).toBe(`${example}\n\nEnd.`);
  });
});

describe('Notion blocks', () => {
  it('renders a toggle’s contents and a table, and stops at a bounded depth', () => {
    const deep = (depth: number): NotionBlock =>
      depth === 0
        ? { id: 'leaf', type: 'paragraph', paragraph: { rich_text: [{ plain_text: 'bottom' }] } }
        : {
            id: `t${depth}`,
            type: 'toggle',
            toggle: { rich_text: [{ plain_text: `level ${depth}` }] },
            children: [deep(depth - 1)],
          };
    const markdown = notionBlocksToMarkdown([deep(30)]);
    expect(markdown).toContain('level 30');
    expect(markdown).not.toContain('bottom');
  });
});

describe('code fences', () => {
  it('fence code longer than any run of backticks in it, in every converter', () => {
    const notion = notionBlocksToMarkdown([
      {
        id: '1',
        type: 'code',
        code: { rich_text: [{ plain_text: 'const x = 1;\n```\nnot a fence end' }], language: 'java script' },
      },
    ]);
    expect(notion).toBe('````javascript\nconst x = 1;\n```\nnot a fence end\n````');
    const rst = rstToMarkdown('.. code-block:: md\n\n   ```\n   inner\n   ```\n\nText::\n\n    ````x\n');
    expect(rst).toBe('````md\n```\ninner\n```\n````\n\nText:\n\n`````\n````x\n`````');
    expect(asciidocToMarkdown('[source,md]\n----\n```\ninner\n```\n----')).toBe(
      '````md\n```\ninner\n```\n````',
    );
    const confluence = confluenceStorageToMarkdown(
      '<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[a ```` b]]></ac:plain-text-body></ac:structured-macro>',
    );
    expect(confluence).toBe('`````\na ```` b\n`````');
  });
});

describe('Confluence storage format', () => {
  it('keeps an inline status and a date within their paragraph, and reads an ADF panel without its attributes', () => {
    const markdown = confluenceStorageToMarkdown(
      '<p>Status: <ac:structured-macro ac:name="status" ac:schema-version="1"><ac:parameter ac:name="colour">Green</ac:parameter><ac:parameter ac:name="title">DONE</ac:parameter></ac:structured-macro> as of <time datetime="2024-05-01" /> for the rollout.</p>' +
        '<ac:adf-extension><ac:adf-node type="panel"><ac:adf-attribute key="panel-type">warning</ac:adf-attribute><ac:adf-content><p>Panel body text.</p></ac:adf-content></ac:adf-node><ac:adf-fallback><div><p>Panel body text.</p></div></ac:adf-fallback></ac:adf-extension>',
    );
    expect(markdown).toBe(
      'Status: DONE as of 2024-05-01 for the rollout.\n\n> **Warning:** Panel body text.',
    );
  });

  it('keeps text, never markup: scripts and event handlers do not come through', () => {
    const markdown = confluenceStorageToMarkdown(
      '<p onclick="x()">Hello <script>alert(1)</script><a href="javascript:alert(1)">link</a></p><style>p{}</style>',
    );
    expect(markdown).toBe('Hello link');
  });

  it('never throws, on any input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        expect(typeof confluenceStorageToMarkdown(text)).toBe('string');
      }),
    );
    const tag = fc.constantFrom(
      '<p>',
      '</p>',
      '<ul><li>',
      '</li></ul>',
      '<table><tr><td>',
      '</td></tr></table>',
      '<ac:structured-macro ac:name="code">',
      '<ac:plain-text-body><![CDATA[x',
      ']]></ac:plain-text-body>',
      '</ac:structured-macro>',
      'text',
      '&amp;',
      '<h2>',
      '</h2>',
    );
    fc.assert(
      fc.property(fc.array(tag, { maxLength: 80 }), (parts) => {
        expect(typeof confluenceStorageToMarkdown(parts.join(''))).toBe('string');
      }),
    );
  });

  it('handles deep nesting and unmatched end tags (htmlparser2’s Parser is quadratic on them) without running out of stack', () => {
    const nested = `${'<div>'.repeat(5_000)}deep${'</div>'.repeat(5_000)}`;
    expect(typeof confluenceStorageToMarkdown(nested)).toBe('string');
    const unmatched = `<p>kept</p>${'<div>'.repeat(50_000)}${'</span>'.repeat(50_000)}`;
    expect(confluenceStorageToMarkdown(unmatched)).toBe('kept');
  });
});
