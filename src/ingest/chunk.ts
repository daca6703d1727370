/**
 * Cuts documents into retrievable chunks that follow the document's own structure: one
 * section per heading, sections packed or split at paragraph boundaries up to a size limit,
 * consecutive chunks of a section overlapping by a sentence so no fact falls between two.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { Chunk } from '../core/types.js';
import { splitMarkdown } from '../render/split-markdown.js';
import type { LoadedDocument } from './loaders.js';

export interface ChunkOptions {
  /** Largest chunk body in characters. */
  readonly maxChars?: number;
  /** Most characters carried over from the end of one chunk to the start of the next. */
  readonly overlapChars?: number;
}

const DEFAULT_MAX_CHARS = 1_000;
const DEFAULT_OVERLAP_CHARS = 200;

/** Content-addressed id: the same text from the same source always gets the same id. */
export function chunkId(source: string, text: string): string {
  const digest = (value: string, length: number) =>
    createHash('sha256').update(value).digest('hex').slice(0, length);
  return `${digest(source, 12)}-${digest(text, 20)}`;
}

function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .trim()
    .replace(/\s+/g, '-');
}

interface Section {
  readonly path: readonly string[];
  readonly body: string;
}

/** Splits markdown at headings (outside code blocks), tracking the heading path. */
function sections(markdown: string): Section[] {
  const out: Section[] = [];
  const path: string[] = [];
  let body: string[] = [];
  let inCode = false;
  const push = () => {
    const text = body.join('\n').trim();
    if (text) out.push({ path: [...path], body: text });
    body = [];
  };
  for (const line of markdown.replace(/\r\n?/g, '\n').split('\n')) {
    if (/^ {0,3}(```|~~~)/.test(line)) inCode = !inCode;
    const heading = inCode ? null : /^(#{1,6})\s+(.+?)\s*#*\s*$/.exec(line);
    if (heading) {
      push();
      const level = heading[1]!.length;
      path.length = Math.min(path.length, level - 1);
      path[level - 1] = heading[2]!;
      for (let i = 0; i < level - 1; i++) path[i] ??= '';
      continue;
    }
    body.push(line);
  }
  push();
  return out.map((section) => ({ ...section, path: section.path.filter(Boolean) }));
}

/** The last sentence (or tail) of a chunk, to repeat at the start of the next one. */
function overlapTail(text: string, maxChars: number): string {
  const flat = text.replace(/```[\s\S]*?```/g, '').trim();
  const sentences = flat.match(/[^.!?\n]+[.!?]+/g);
  const tail = sentences?.at(-1)?.trim() ?? '';
  return tail.length > 0 && tail.length <= maxChars ? tail : '';
}

export function chunkDocument(document: LoadedDocument, source: string, options: ChunkOptions = {}): Chunk[] {
  if (document.kind === 'records') {
    return document.records.map((record) => ({
      id: chunkId(source, record.text),
      text: record.text,
      source,
      ...(record.title ? { title: record.title } : {}),
      ...(record.url ? { url: record.url } : {}),
      metadata: record.metadata,
    }));
  }
  const maxChars = options.maxChars ?? DEFAULT_MAX_CHARS;
  const overlapChars = options.overlapChars ?? DEFAULT_OVERLAP_CHARS;
  const docTitle = document.title ?? basename(source).replace(/\.[a-z0-9]+$/i, '');
  const chunks: Chunk[] = [];
  for (const section of sections(document.markdown)) {
    // The document title is usually the first heading: don't repeat it in the path.
    const path = section.path[0] === docTitle ? section.path.slice(1) : section.path;
    const title = [docTitle, ...path].join(' › ');
    const anchor = path.at(-1);
    const url = document.url ? (anchor ? `${document.url}#${slug(anchor)}` : document.url) : undefined;
    let previous = '';
    for (const piece of splitMarkdown(section.body, maxChars)) {
      const carried = previous ? overlapTail(previous, overlapChars) : '';
      previous = piece;
      // The heading path leads the text so it is searchable by any store, embedding or keyword.
      const text = `# ${title}\n\n${carried ? `${carried}\n\n` : ''}${piece}`;
      chunks.push({
        id: chunkId(source, text),
        text,
        source,
        title,
        ...(url ? { url } : {}),
        metadata: { section: path.join(' › ') || docTitle },
      });
    }
  }
  return chunks;
}
