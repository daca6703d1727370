/**
 * Documents whose titles, URLs and file names carry mention syntax, as an attacker who can
 * get a file into the knowledge base would write them, added to the Upstash fake's index.
 */
import { constants, deflateRawSync, deflateSync } from 'node:zlib';
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

/** A PDF of `objects` (numbered from 1; 1 is the catalog) with a valid cross-reference table. */
export function pdfOf(objects: readonly Buffer[]): Buffer {
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
}

/**
 * How a decompression bomb's stream can be dressed so that a scan of the PDF's syntax misses
 * it: each was seen to get past a pre-check that looked for `/Filter /FlateDecode` (issue 17's
 * review). The memory bound must hold for any of them, and for combinations.
 */
export interface BombDressing {
  /** How the filter is written, or RunLength, which expands 64 times without any deflate. */
  readonly filter: 'plain' | 'short' | 'escaped' | 'indirect' | 'hex-first' | 'double' | 'run-length';
  /** `/Subtype /Image` on a content stream. */
  readonly imageSubtype: boolean;
  /** A string holding `obj` in the dictionary. */
  readonly objInString: boolean;
  /** Dictionary padding past any look-back window. */
  readonly paddingBytes: number;
  /** What follows the `stream` keyword before the data. */
  readonly afterStream: '\n' | '\r\n' | ' \n';
  /** The stream is a page's content, or a Form XObject the page draws. */
  readonly place: 'contents' | 'form';
}

/**
 * `bytes` (a whole number of MB) of spaces as a zlib stream, built without holding them: one MB
 * deflated raw and flushed (its back-references stay within it, and the bytes before it are
 * spaces too), repeated, a final empty block, and the Adler-32 of the whole computed. `times`
 * nests further deflates (those hold the previous stage, which is small).
 */
function deflatedSpaces(bytes: number, times = 1): Buffer {
  const key = `${bytes}:${times}`;
  let data = deflated.get(key);
  if (!data) {
    const mb = Math.ceil(bytes / MEGABYTE);
    const block = deflateRawSync(Buffer.alloc(MEGABYTE, 0x20), {
      level: 9,
      finishFlush: constants.Z_SYNC_FLUSH,
    });
    const total = BigInt(mb * MEGABYTE);
    // Adler-32 of `total` spaces: a = 1 + 32n, b = n + 32n(n+1)/2, both mod 65521.
    const a = (1n + 32n * total) % 65521n;
    const b = (total + (32n * total * (total + 1n)) / 2n) % 65521n;
    const adler = Buffer.alloc(4);
    adler.writeUInt32BE(Number((b << 16n) | a));
    data = Buffer.concat([
      Buffer.from([0x78, 0xda]),
      ...Array.from({ length: mb }, () => block),
      Buffer.from([0x03, 0x00]),
      adler,
    ]);
    for (let i = 1; i < times; i++) data = deflateSync(data, { level: 9 });
    deflated.set(key, data);
  }
  return data;
}
const MEGABYTE = 1024 * KB;
const deflated = new Map<string, Buffer>();

/** A one-page PDF whose one stream expands to `inflatedMB` of spaces, dressed as `dressing` says. */
/** Three ways to dress a bomb past a syntax check: an escaped filter name on an image-typed stream, an indirect filter on a padded Form XObject, run-length. */
export const BOMB_DRESSINGS: readonly BombDressing[] = [
  {
    filter: 'escaped',
    imageSubtype: true,
    objInString: false,
    paddingBytes: 0,
    afterStream: ' \n',
    place: 'contents',
  },
  {
    filter: 'indirect',
    imageSubtype: false,
    objInString: true,
    paddingBytes: 70_000,
    afterStream: '\n',
    place: 'form',
  },
  {
    filter: 'run-length',
    imageSubtype: false,
    objInString: false,
    paddingBytes: 0,
    afterStream: '\r\n',
    place: 'contents',
  },
];

export function dressedBombPdf(dressing: BombDressing, inflatedMB = 256): Buffer {
  const size = inflatedMB * 1024 * KB;
  let data: Buffer;
  let filter: string;
  const extra: Buffer[] = [];
  switch (dressing.filter) {
    case 'run-length': {
      // 129 then a byte: that byte 128 times. Two bytes become 128.
      const pairs = Math.ceil(size / 128);
      data = Buffer.alloc(pairs * 2 + 1);
      for (let i = 0; i < pairs; i++) {
        data[2 * i] = 129;
        data[2 * i + 1] = 0x20;
      }
      data[pairs * 2] = 128;
      filter = '/RunLengthDecode';
      break;
    }
    case 'hex-first':
      data = Buffer.from(`${deflatedSpaces(size).toString('hex')}>`);
      filter = '[/ASCIIHexDecode /FlateDecode]';
      break;
    case 'double':
      data = deflatedSpaces(size, 2);
      filter = '[/FlateDecode /FlateDecode]';
      break;
    case 'indirect':
      data = deflatedSpaces(size);
      filter = '7 0 R';
      extra.push(Buffer.from('[/FlateDecode]'));
      break;
    default:
      data = deflatedSpaces(size);
      filter = { plain: '/FlateDecode', short: '/Fl', escaped: '/Fl#61te#44ecode' }[dressing.filter];
  }
  const dictionary = [
    `/Length ${data.length}`,
    `/Filter ${filter}`,
    dressing.imageSubtype ? '/Subtype /Image' : '',
    dressing.objInString ? '/Note (1 0 obj)' : '',
    dressing.paddingBytes > 0 ? `/Pad (${'x'.repeat(dressing.paddingBytes)})` : '',
    dressing.place === 'form' ? '/Type /XObject /Subtype /Form /BBox [0 0 10 10]' : '',
  ]
    .filter(Boolean)
    .join(' ');
  const stream = Buffer.concat([
    Buffer.from(`<< ${dictionary} >>\nstream${dressing.afterStream}`),
    data,
    Buffer.from('\nendstream'),
  ]);
  const contents = dressing.place === 'form' ? '6 0 R' : '4 0 R';
  const resources =
    dressing.place === 'form'
      ? '<< /Font << /F1 5 0 R >> /XObject << /X 4 0 R >> >>'
      : '<< /Font << /F1 5 0 R >> >>';
  const drawForm = Buffer.from('<< /Length 5 >>\nstream\n/X Do\nendstream');
  return pdfOf([
    Buffer.from('<< /Type /Catalog /Pages 2 0 R >>'),
    Buffer.from('<< /Type /Pages /Kids [3 0 R] /Count 1 >>'),
    Buffer.from(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${contents} /Resources ${resources} >>`,
    ),
    stream,
    Buffer.from('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'),
    drawForm,
    ...extra,
  ]);
}
