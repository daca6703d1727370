/**
 * Chunks that keep code with its meaning: a code block whole with the sentence introducing it
 * and its heading path, long code cut at lines with the lead-in on every part, lists whole,
 * plain titles, HTML as text.
 */
import { describe, expect, it } from 'vitest';
import type { Chunk } from '../../src/core/types.js';
import { chunkDocument } from '../../src/ingest/chunk.js';

const chunk = (markdown: string, options: { maxChars?: number; title?: string; url?: string } = {}) =>
  chunkDocument(
    {
      kind: 'text',
      markdown,
      ...(options.title ? { title: options.title } : {}),
      ...(options.url ? { url: options.url } : {}),
    },
    'docs/guide.md',
    options.maxChars ? { maxChars: options.maxChars } : {},
  );

const holding = (chunks: readonly Chunk[], text: string) => chunks.filter((c) => c.text.includes(text));

describe('code blocks', () => {
  const filler = Array.from({ length: 12 }, (_, i) => `Background sentence ${i} explains the design.`).join(
    ' ',
  );
  const doc = [
    '# Guide',
    '',
    '## Loading variables',
    '',
    filler,
    '',
    'Load the variables as early as possible in your entry file:',
    '',
    '```js',
    "require('dotenv').config()",
    "console.log(process.env.SECRET_KEY) // remove this after you've confirmed it is working",
    '```',
    '',
    filler,
  ].join('\n');

  it('stay whole, in the same chunk as the sentence that introduces them and under their heading path', () => {
    const chunks = chunk(doc, { maxChars: 700 });
    expect(chunks.length).toBeGreaterThan(1);
    const [withCode, ...others] = holding(chunks, "require('dotenv').config()");
    expect(others).toEqual([]);
    expect(withCode!.text).toContain(
      "Load the variables as early as possible in your entry file:\n\n```js\nrequire('dotenv').config()\nconsole.log(process.env.SECRET_KEY) // remove this after you've confirmed it is working\n```",
    );
    expect(withCode!.text.startsWith('# Guide › Loading variables\n\n')).toBe(true);
    expect(withCode!.title).toBe('Guide › Loading variables');
  });

  it('longer than a chunk are cut at line boundaries, every part a fenced block with the heading and lead-in', () => {
    const lines = Array.from({ length: 60 }, (_, i) => `  step_${i}(config, { retries: ${i} });`);
    const chunks = chunk(
      ['# Guide', '', '## Migrating', '', 'Run this migration script:', '', '```ts', ...lines, '```'].join(
        '\n',
      ),
      { maxChars: 500 },
    );
    expect(chunks.length).toBeGreaterThan(3);
    const seen: string[] = [];
    for (const part of chunks) {
      expect(part.text.length).toBeLessThanOrEqual(500 + '# Guide › Migrating\n\n'.length);
      expect(part.text).toMatch(/^# Guide › Migrating\n\nRun this migration script:\n\n```ts\n[\s\S]*\n```$/);
      const body = part.text.split('```ts\n')[1]!.replace(/\n```$/, '');
      // Whole lines only.
      for (const line of body.split('\n')) expect(lines).toContain(line);
      seen.push(...body.split('\n'));
    }
    expect(seen).toEqual(lines);
  });

  it('keep a fence that their own backticks cannot close', () => {
    const chunks = chunk('# Guide\n\nWrite a fence like this:\n\n````md\n```js\nx()\n```\n````\n');
    expect(chunks[0]!.text).toContain('Write a fence like this:\n\n````md\n```js\nx()\n```\n````');
  });
});

describe('lists and numbered steps', () => {
  it('are never cut in the middle of an item, and every part of a long list keeps its lead-in', () => {
    const steps = Array.from(
      { length: 14 },
      (_, i) => `${i + 1}. Open the settings page number ${i + 1} and confirm the change you made.`,
    );
    const chunks = chunk(
      ['# Guide', '', '## Upgrading', '', 'To upgrade the bot:', '', ...steps].join('\n'),
      {
        maxChars: 400,
      },
    );
    expect(chunks.length).toBeGreaterThan(1);
    const found: string[] = [];
    for (const part of chunks) {
      expect(part.text).toContain('To upgrade the bot:');
      for (const line of part.text.split('\n').filter((l) => /^\d+\. /.test(l))) found.push(line);
    }
    expect(found).toEqual(steps);
  });

  it('keeps a short list whole in one chunk with the nested code of its steps', () => {
    const chunks = chunk(
      '# Guide\n\nSteps:\n\n1. Install:\n   ```sh\n   npm ci\n   ```\n2. Start:\n   ```sh\n   npm start\n   ```\n',
    );
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.text).toContain(
      'Steps:\n\n1. Install:\n   ```sh\n   npm ci\n   ```\n2. Start:\n   ```sh\n   npm start\n   ```',
    );
  });
});

describe('titles and locations', () => {
  it('are plain text: badges, images and links are stripped from headings', () => {
    const chunks = chunk(
      [
        '# dotenv [![NPM version](https://img.shields.io/npm/v/dotenv.svg?style=flat-square)](https://www.npmjs.com/package/dotenv) [![downloads](https://img.shields.io/npm/dw/dotenv)](https://npmjs.org/dotenv)',
        '',
        'Dotenv loads environment variables.',
        '',
        '## [Usage](#usage) with `config()` ![logo](logo.png)',
        '',
        'Call config early.',
      ].join('\n'),
      {
        title:
          'dotenv [![NPM version](https://img.shields.io/npm/v/dotenv.svg?style=flat-square)](https://www.npmjs.com/package/dotenv)',
        url: 'https://github.com/motdotla/dotenv',
      },
    );
    expect(chunks.map((c) => c.title)).toEqual(['dotenv', 'dotenv › Usage with config()']);
    expect(chunks[1]!.url).toBe('https://github.com/motdotla/dotenv#usage-with-config');
    for (const c of chunks) expect(c.text).not.toContain('img.shields.io');
  });
});

describe('raw HTML in documents', () => {
  it('becomes safe text: a summary heads what it folds, the tags are dropped', () => {
    const chunks = chunk(
      [
        '# Guide',
        '',
        '<p align="center"><img src="logo.svg" alt="logo"><br><b>Fast</b> &amp; small</p>',
        '',
        '<details><summary>Why does <code>config()</code> return an object?</summary>',
        '',
        'It returns the parsed values so you can *inspect* them.',
        '',
        '</details>',
        '',
        'Press <kbd>Ctrl</kbd>+<kbd>C</kbd> to stop.<script>alert(1)</script>',
      ].join('\n'),
    );
    const text = chunks.map((c) => c.text).join('\n');
    expect(text).toContain('Fast & small');
    expect(chunks.map((c) => c.title)).toContain('Guide › Why does config() return an object?');
    expect(text).toContain('# Guide › Why does config() return an object?\n\nIt returns the parsed values');
    expect(text).toContain('Press Ctrl+C to stop.');
    expect(text).not.toMatch(/<\/?(p|img|br|b|details|summary|code|kbd|script)\b/);
    expect(text).not.toContain('alert(1)');
  });
});

describe('document titles', () => {
  it('are never a "# line" of a code block, and a README of sections is named by its folder', () => {
    const markdown = [
      '## Usage',
      '',
      'Run it:',
      '',
      '```sh',
      '# .makeRe star (*)',
      'npm test',
      '```',
      '',
      '# Features',
      '',
      'Fast.',
      '',
      '# Install',
      '',
      'npm i',
    ].join('\n');
    const chunks = chunkDocument(
      { kind: 'text', title: '.makeRe star (*)', markdown },
      'picomatch/README.md',
    );
    expect(new Set(chunks.map((c) => c.title?.split(' › ')[0]))).toEqual(new Set(['picomatch']));
    expect(chunks.map((c) => c.title)).toContain('picomatch › Features');
  });

  it('come from front matter when it gives one', () => {
    const chunks = chunkDocument(
      { kind: 'text', title: 'Runbook', markdown: '## Restart\n\nRestart it.' },
      'ops/x.md',
    );
    expect(chunks[0]!.title).toBe('Runbook › Restart');
  });
});
