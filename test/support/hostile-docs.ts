/**
 * Documents whose titles, URLs and file names carry mention syntax, as an attacker who can
 * get a file into the knowledge base would write them, added to the Upstash fake's index.
 */
import { UpstashStore } from '../../src/stores/upstash.js';
import type { Backends } from './backends.js';

export const HOSTILE_QUESTION = 'What are the Zebra canteen hours?';

const text = (n: number) =>
  `Zebra canteen hours: the Zebra canteen opens at ${7 + n} and the Zebra canteen closes at 15.`;

export async function addHostileDocuments(backends: Backends, platform: 'slack' | 'discord'): Promise<void> {
  const store = new UpstashStore({ url: backends.upstash.url, token: backends.upstash.token, namespace: '' });
  const chunks =
    platform === 'slack'
      ? [
          { title: 'Zebra canteen hours', url: '!here', source: 'zebra/a.md' },
          { title: '@U999 <@U999>', url: 'https://example.com/a> <!channel', source: 'zebra/b.md' },
          { title: '!subteam^S77 <!subteam^S77|@oncall> @channel', source: 'zebra/<!everyone>.md' },
        ]
      : [
          { title: 'Zebra canteen hours', url: 'javascript:alert(1)', source: 'zebra/a.md' },
          {
            title: '@everyone <@1100000000000000555>',
            url: 'https://example.com/a) @here',
            source: 'zebra/b.md',
          },
          { title: '<@&1100000000000000888>](https://evil.example)', source: 'zebra/`@here`.md' },
        ];
  await store.upsert(
    chunks.map((chunk, i) => ({
      id: `hostile-${platform}-${i}`,
      text: text(i),
      metadata: {},
      ...chunk,
    })),
  );
}

/*
 * Documents built to stall or bloat a parser, as an attacker would send them: each one took the
 * bot's event loop for seconds to minutes, or hundreds of MB, before the parse pool (issue 17).
 */

const KB = 1024;

/**
 * HTML that makes patterns like `<title[^>]*>([\s\S]*?)<\/title>` scan to the end from every
 * start: `<title>` opened and never closed (128 KB of it kept the old loader busy for minutes).
 */
export function backtrackingHtml(bytes = 512 * KB): string {
  return '<title>'.repeat(Math.ceil(bytes / 7));
}

/** A web page made of `<!--` repeated: a comment that never ends. */
export function commentBombPage(bytes = 1024 * KB): string {
  return '<!--'.repeat(Math.ceil(bytes / 4));
}

/** A sitemap of `<loc>` tags never closed. */
export function unclosedLocSitemap(bytes = 1024 * KB): string {
  return `<?xml version="1.0"?><urlset><url>${'<loc>'.repeat(Math.ceil(bytes / 5))}`;
}

/** Markdown whose heading lines are padded with no-break spaces (U+00A0). */
export function paddedHeadingsMarkdown(bytes = 40 * KB): string {
  const line = `#\u00a0${'\u00a0'.repeat(2_000)}x${'\u00a0'.repeat(2_000)}#x\n`;
  return `${line.repeat(Math.ceil(bytes / line.length))}\nBody text after the headings.\n`;
}

let bombCache: Promise<Buffer> | undefined;

/**
 * A one-page PDF whose content stream is a deflate bomb: `inflatedMB` of zeros compressed to
 * about a thousandth of that (512 MB in about 500 KB), built here with zlib, no fixture.
 */
export function deflateBombPdf(inflatedMB = 512): Promise<Buffer> {
  if (inflatedMB === 512 && bombCache) return bombCache;
  const built = (async () => {
    const { createDeflate } = await import('node:zlib');
    const deflate = createDeflate({ level: 9 });
    const parts: Buffer[] = [];
    deflate.on('data', (chunk: Buffer) => parts.push(chunk));
    const done = new Promise((resolve) => deflate.on('end', resolve));
    const zeros = Buffer.alloc(1024 * KB);
    for (let i = 0; i < inflatedMB; i++) {
      if (!deflate.write(zeros)) await new Promise((resolve) => deflate.once('drain', resolve));
    }
    deflate.end();
    await done;
    const stream = Buffer.concat(parts);
    const objects: Buffer[] = [
      Buffer.from('<< /Type /Catalog /Pages 2 0 R >>'),
      Buffer.from('<< /Type /Pages /Kids [3 0 R] /Count 1 >>'),
      Buffer.from(
        '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
      ),
      Buffer.concat([
        Buffer.from(`<< /Length ${stream.length} /Filter /FlateDecode >>\nstream\n`),
        stream,
        Buffer.from('\nendstream'),
      ]),
      Buffer.from('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'),
    ];
    const chunks: Buffer[] = [Buffer.from('%PDF-1.4\n')];
    let length = chunks[0]!.length;
    const offsets: number[] = [];
    objects.forEach((body, i) => {
      offsets.push(length);
      const object = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), body, Buffer.from('\nendobj\n')]);
      chunks.push(object);
      length += object.length;
    });
    let tail = `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
    for (const offset of offsets) tail += `${String(offset).padStart(10, '0')} 00000 n \n`;
    tail += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${length}\n%%EOF\n`;
    chunks.push(Buffer.from(tail));
    return Buffer.concat(chunks);
  })();
  if (inflatedMB === 512) bombCache = built;
  return built;
}
