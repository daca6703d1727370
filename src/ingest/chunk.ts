/**
 * Cuts documents into retrievable chunks that follow the document's own structure. The
 * Markdown is parsed (markdown-it, linear time on any input; see src/text/markdown-blocks.ts)
 * into headings and blocks, and each section under a heading is packed into chunks of at most
 * `maxChars`, by whole units:
 *   - a code block travels with the paragraph that introduces it ("Load it early:") and its
 *     heading path, so the code is found by what it does and quoted with it; a code block longer
 *     than a chunk is cut at line boundaries, every part carrying the heading and the lead-in;
 *   - a list (numbered steps) is one unit, cut only between items when it is too long, every
 *     part keeping the sentence that introduced it;
 *   - prose is cut between paragraphs, then between sentences.
 * Consecutive chunks of a section overlap by a sentence so no fact falls between two. Titles
 * are plain text; raw HTML in the document becomes text and its tags are dropped.
 */
import { createHash } from 'node:crypto';
import { basename, dirname } from 'node:path';
import type { Chunk } from '../core/types.js';
import { fence } from '../text/fence.js';
import { type Block, blockMarkdown, markdownBlocks, plainInline } from '../text/markdown-blocks.js';
import { lastSentence, sentences } from '../text/sentences.js';
import type { LoadedDocument } from './loaders.js';

export interface ChunkOptions {
  /**
   * Largest chunk body in characters; a chunk whose first part is under a quarter of it may hold
   * one more part, up to 1.25 times it, rather than leave that part a fragment of its own.
   */
  readonly maxChars?: number;
  /** Most characters carried over from the end of one chunk to the start of the next. */
  readonly overlapChars?: number;
}

const DEFAULT_MAX_CHARS = 1_000;
const DEFAULT_OVERLAP_CHARS = 200;
/** The smallest chunk body worth making: below it, limits are raised to it. */
const MIN_CHARS = 80;

/** Content-addressed id: the same text from the same source always gets the same id. */
export function chunkId(source: string, text: string): string {
  const digest = (value: string, length: number) =>
    createHash('sha256').update(value).digest('hex').slice(0, length);
  return `${digest(source, 12)}-${digest(text, 20)}`;
}

/** A heading's anchor as GitHub and most doc sites make it. */
function slug(heading: string): string {
  let out = '';
  for (const char of heading.toLowerCase()) {
    if (char === ' ' || char === '-') out += '-';
    else if (/[\p{L}\p{N}_]/u.test(char)) out += char;
  }
  return out;
}

interface Section {
  readonly path: readonly string[];
  readonly blocks: readonly Block[];
}

/** Groups blocks under the heading path above them; a `<details>` summary heads what follows it one level down. */
function sections(blocks: readonly Block[]): Section[] {
  const out: Section[] = [];
  const path: (string | undefined)[] = [];
  /** Level of the last real heading: a summary sits one below it. */
  let level = 0;
  let current: Block[] = [];
  const push = () => {
    if (current.length > 0)
      out.push({ path: path.filter((part): part is string => !!part), blocks: current });
    current = [];
  };
  for (const block of blocks) {
    if (block.kind !== 'heading') {
      current.push(block);
      continue;
    }
    push();
    const at = block.summary ? Math.min(level + 1, 7) : block.level;
    if (!block.summary) level = block.level;
    path.length = Math.min(path.length, at - 1);
    path[at - 1] = block.text;
  }
  push();
  return out;
}

/**
 * One indivisible piece of a section: `lead` introduces `body` and is repeated on every part
 * when `body` must be cut; `parts` cuts `body` into pieces of at most `max` characters.
 */
interface Unit {
  readonly lead: string;
  readonly body: string;
  readonly parts: (max: number) => string[];
  /** Prose whose last sentence may open the next chunk. */
  readonly prose: boolean;
}

function endsWithColon(text: string): boolean {
  const trimmed = text.trimEnd();
  return trimmed.endsWith(':') || trimmed.endsWith('：');
}

/** Cuts text at sentence ends, and a sentence too long for one part at spaces. */
function proseParts(text: string, max: number): string[] {
  const parts: string[] = [];
  let current = '';
  for (const sentence of sentences(text)) {
    for (const piece of hardCut(sentence, max)) {
      if (current && current.length + 1 + piece.length > max) {
        parts.push(current);
        current = '';
      }
      current = current ? `${current} ${piece}` : piece;
    }
  }
  if (current) parts.push(current);
  return parts;
}

/** Cuts one line or sentence into pieces of at most `max`, at the last space when there is one. */
function hardCut(text: string, max: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const space = rest.lastIndexOf(' ', max);
    let at = space > max / 2 ? space : max;
    const code = rest.charCodeAt(at - 1);
    if (code >= 0xd800 && code <= 0xdbff) at -= 1;
    pieces.push(rest.slice(0, at));
    rest = rest.slice(at).trimStart();
  }
  if (rest) pieces.push(rest);
  return pieces;
}

/** Packs lines into pieces of at most `max` characters, never cutting a line unless it alone is longer. */
function lineParts(lines: readonly string[], max: number): string[][] {
  const parts: string[][] = [];
  let current: string[] = [];
  let length = 0;
  for (const line of lines) {
    for (const piece of line.length > max ? hardCut(line, max) : [line]) {
      if (current.length > 0 && length + 1 + piece.length > max) {
        parts.push(current);
        current = [];
        length = 0;
      }
      length += (current.length > 0 ? 1 : 0) + piece.length;
      current.push(piece);
    }
  }
  if (current.length > 0) parts.push(current);
  return parts;
}

function codeUnit(lead: string, block: Extract<Block, { kind: 'code' }>): Unit {
  const body = fence(block.code, block.lang);
  return {
    lead,
    body,
    prose: false,
    parts: (max) => {
      // Each part is a fenced block of its own: room for the fence lines on both sides.
      const marker = body.slice(0, body.indexOf('\n')).length;
      const room = Math.max(MIN_CHARS, max - 2 * marker - block.lang.length - 2);
      const lines = block.code.replace(/\n$/, '').split('\n');
      return lineParts(lines, room).map((part) => fence(part.join('\n'), block.lang));
    },
  };
}

/** Items packed in order, a part holding whole items; an item alone too long is cut at its lines. */
function itemParts(items: readonly string[], max: number): string[] {
  const parts: string[] = [];
  let current = '';
  for (const item of items) {
    const pieces =
      item.length > max ? lineParts(item.split('\n'), max).map((lines) => lines.join('\n')) : [item];
    for (const piece of pieces) {
      if (current && current.length + 1 + piece.length > max) {
        parts.push(current);
        current = '';
      }
      current = current ? `${current}\n${piece}` : piece;
    }
  }
  if (current) parts.push(current);
  return parts;
}

/** The section's blocks as units, each code block or introduced list taking its lead-in paragraph. */
function units(blocks: readonly Block[]): Unit[] {
  const out: Unit[] = [];
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[i]!;
    const next = blocks[i + 1];
    if (block.kind === 'paragraph') {
      // A paragraph right before a code block introduces it; before a list, when it ends in ":".
      if (next?.kind === 'code' || (next?.kind === 'list' && endsWithColon(block.text))) {
        out.push(next.kind === 'code' ? codeUnit(block.text, next) : listUnit(block.text, next));
        i += 1;
        continue;
      }
      out.push({ lead: '', body: block.text, prose: true, parts: (max) => proseParts(block.text, max) });
      continue;
    }
    if (block.kind === 'code') out.push(codeUnit('', block));
    else if (block.kind === 'list') out.push(listUnit('', block));
    else if (block.kind === 'table') {
      const rows = block.rows;
      out.push({
        lead: '',
        body: blockMarkdown(block),
        prose: false,
        // Every part of a long table repeats its header row.
        parts: (max) =>
          itemParts(rows, Math.max(MIN_CHARS, max - block.header.length - 1)).map(
            (part) => `${block.header}\n${part}`,
          ),
      });
    } else {
      const text = blockMarkdown(block);
      out.push({
        lead: '',
        body: text,
        prose: block.kind === 'quote',
        parts: (max) => lineParts(text.split('\n'), max).map((lines) => lines.join('\n')),
      });
    }
  }
  return out;
}

function listUnit(lead: string, block: Extract<Block, { kind: 'list' }>): Unit {
  return {
    lead,
    body: block.items.join('\n'),
    prose: false,
    parts: (max) => itemParts(block.items, max),
  };
}

/** A unit as pieces that each fit a chunk; `led` when the piece opens with its own lead-in. */
function pieces(
  unit: Unit,
  maxChars: number,
  overlapChars: number,
): { readonly text: string; readonly led: boolean }[] {
  const whole = unit.lead ? `${unit.lead}\n\n${unit.body}` : unit.body;
  if (whole.length <= maxChars) return [{ text: whole, led: unit.lead !== '' }];
  // Prose parts leave room for the sentence that overlaps into them.
  if (unit.prose) return unit.parts(maxChars - overlapChars - 2).map((text) => ({ text, led: false }));
  // Each part carries the lead-in; a lead-in too long to repeat is given whole once, and its
  // last sentence is repeated instead.
  const lead = unit.lead.length <= maxChars / 3 ? unit.lead : lastSentence(unit.lead, maxChars / 3);
  const room = Math.max(MIN_CHARS, maxChars - (lead ? lead.length + 2 : 0));
  const out: { text: string; led: boolean }[] = [];
  if (unit.lead && lead !== unit.lead)
    for (const part of proseParts(unit.lead, maxChars)) out.push({ text: part, led: false });
  for (const part of unit.parts(room))
    out.push({ text: lead ? `${lead}\n\n${part}` : part, led: lead !== '' });
  return out;
}

/** Packs a section's units into chunk bodies of at most `maxChars` characters. */
function pack(section: readonly Unit[], maxChars: number, overlapChars: number): string[] {
  const bodies: string[] = [];
  let current: string[] = [];
  let length = 0;
  /** The last sentence of the prose just packed, to open the next chunk with. */
  let carry = '';
  const overlap = Math.min(overlapChars, Math.floor(maxChars / 4));
  const add = (text: string) => {
    length += (current.length > 0 ? 2 : 0) + text.length;
    current.push(text);
  };
  // A chunk under a quarter of the limit is a fragment (a section's one-line introduction): the
  // next unit joins it even past the limit, so a chunk holds at most 1.25 times the limit.
  const fragment = maxChars / 4;
  /** Whether the chunk being filled opens with the overlap from the one before. */
  let carried = false;
  for (const unit of section) {
    for (const piece of pieces(unit, maxChars, overlap)) {
      const joined = length + 2 + piece.text.length;
      if (current.length > 0 && joined > maxChars && !(length < fragment && joined <= maxChars + fragment)) {
        bodies.push(current.join('\n\n'));
        current = [];
        length = 0;
        // The overlap, where the next chunk does not open with an introduction of its own.
        carried = !piece.led && carry !== '' && carry.length + 2 + piece.text.length <= maxChars;
        if (carried) add(carry);
      }
      add(piece.text);
      carry = unit.prose ? lastSentence(piece.text, overlap) : '';
    }
  }
  if (current.length > 0) {
    // A fragment left at the end joins the chunk before it, within the same allowance.
    const last = bodies.at(-1);
    const tail = (carried ? current.slice(1) : current).join('\n\n');
    if (last !== undefined && tail.length < fragment && last.length + 2 + tail.length <= maxChars + fragment)
      bodies[bodies.length - 1] = `${last}\n\n${tail}`;
    else bodies.push(tail);
  }
  return bodies;
}

/** Files named for their role, not their subject: their folder says what they are about. */
const GENERIC_NAMES = new Set(['readme', 'index', 'readme.en', 'home', 'intro', 'introduction']);

/** A file's name without its extension, or its folder's name for a README or an index page. */
function nameOf(source: string): string {
  const name = basename(source).replace(/\.[a-z0-9]+$/i, '');
  if (!GENERIC_NAMES.has(name.toLowerCase())) return name;
  return basename(dirname(source)) || name;
}

/**
 * The document's title as plain text: a title the source gives (front matter, a wiki page's
 * name) unless it is only a line of the text that is no heading; else the top-level heading
 * that opens the document; else the file's name, or its folder's for a README (one whose
 * top-level headings are its sections, "# Features", "# Quick Start", is named that way).
 */
function documentTitle(
  document: Extract<LoadedDocument, { kind: 'text' }>,
  blocks: readonly Block[],
  source: string,
): string {
  const given = document.title ? plainInline(document.title) : '';
  const headings = blocks.filter((block) => block.kind === 'heading' && !block.summary);
  const text = (block: Block) => (block.kind === 'heading' ? block.text : '');
  const topLevel = new Set(
    headings.filter((block) => block.kind === 'heading' && block.level === 1).map(text),
  );
  const anyLevel = new Set(headings.map(text));
  // A "# line" that is no heading was read from a code block ("# .makeRe star (*)"): it names nothing.
  const fromCode =
    document.title !== undefined && !anyLevel.has(given) && document.markdown.includes(`# ${document.title}`);
  if (given && !topLevel.has(given) && !fromCode) return given;
  const first = blocks[0];
  if (first?.kind === 'heading' && first.level === 1 && !first.summary) return first.text;
  return nameOf(source) || source;
}

/**
 * A record's text in pieces of at most `maxChars`, cut at a line break or space where there is
 * one: a record can be megabytes, and every passage is measured and formatted whole later.
 */
function recordPieces(text: string, maxChars: number): string[] {
  if (text.length <= maxChars) return [text];
  const pieces: string[] = [];
  for (let start = 0; start < text.length; ) {
    let end = Math.min(text.length, start + maxChars);
    if (end < text.length) {
      const brk = Math.max(text.lastIndexOf('\n', end), text.lastIndexOf(' ', end));
      if (brk > start + maxChars / 2) end = brk;
    }
    const piece = text.slice(start, end).trim();
    if (piece) pieces.push(piece);
    start = end;
  }
  return pieces;
}

export function chunkDocument(document: LoadedDocument, source: string, options: ChunkOptions = {}): Chunk[] {
  if (document.kind === 'records') {
    return document.records.flatMap((record) =>
      recordPieces(record.text, options.maxChars ?? DEFAULT_MAX_CHARS).map((text) => ({
        id: chunkId(source, text),
        text,
        source,
        ...(record.title ? { title: record.title } : {}),
        ...(record.url ? { url: record.url } : {}),
        metadata: record.metadata,
      })),
    );
  }
  const maxChars = Math.max(MIN_CHARS, options.maxChars ?? DEFAULT_MAX_CHARS);
  const overlapChars = options.overlapChars ?? DEFAULT_OVERLAP_CHARS;
  const blocks = markdownBlocks(document.markdown);
  const docTitle = documentTitle(document, blocks, source);
  const chunks: Chunk[] = [];
  for (const section of sections(blocks)) {
    // The document title is usually the first heading: don't repeat it in the path.
    const path = section.path[0] === docTitle ? section.path.slice(1) : section.path;
    const title = [docTitle, ...path].join(' › ');
    const anchor = path.at(-1);
    const url = document.url ? (anchor ? `${document.url}#${slug(anchor)}` : document.url) : undefined;
    for (const body of pack(units(section.blocks), maxChars, overlapChars)) {
      // The heading path leads the text so it is searchable by any store, embedding or keyword.
      const text = `# ${title}\n\n${body}`;
      chunks.push({
        id: chunkId(source, text),
        text,
        source,
        title,
        ...(url ? { url } : {}),
        metadata: { section: path.join(' › ') || docTitle, document: docTitle },
      });
    }
  }
  return chunks;
}
