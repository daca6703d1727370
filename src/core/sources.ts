/**
 * Turns the passages the model saw into the numbered sources a user sees. Passages of one
 * document (two sections of one README) are one source, numbered once, listing each passage;
 * the answer cites that one number. A source is shown by its title and where it lives: its web
 * address, or its path relative to the folder it was ingested from.
 */
import { basename, isAbsolute } from 'node:path';
import { citedNumbers } from './citations.js';
import type { Passage, Source, SourcePassage } from './types.js';

const SNIPPET_CHARS = 160;

/** A short excerpt of prose, without markup or code. */
export function snippet(text: string): string {
  let flat = '';
  let inFence = false;
  for (const line of text.split('\n')) {
    const trimmed = line.trimStart();
    if (trimmed.startsWith('```') || trimmed.startsWith('~~~')) {
      inFence = !inFence;
      continue;
    }
    // The heading path that leads every chunk is the title already.
    if (inFence || trimmed.startsWith('#')) continue;
    flat += ` ${line}`;
  }
  flat = flat
    .replace(/[>*_`|]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (flat.length <= SNIPPET_CHARS) return flat;
  const cut = flat.lastIndexOf(' ', SNIPPET_CHARS);
  return `${flat.slice(0, cut > 80 ? cut : SNIPPET_CHARS)}…`;
}

/** A readable title: the passage's own, else the file name without its extension. */
export function sourceTitle(passage: Pick<Passage, 'title' | 'source'>): string {
  if (passage.title?.trim()) return passage.title.trim();
  const name = basename(passage.source).replace(/\.[a-z0-9]+$/i, '');
  return name || passage.source;
}

/**
 * A document's URL if it is a web address (http or https with a host), normalised so it
 * carries no spaces, quotes or angle brackets; anything else (`!here`, `javascript:`,
 * `@U123`, a bare path) is not a link and is dropped.
 */
export function safeHttpUrl(raw: string | undefined): string | undefined {
  if (!raw?.trim()) return undefined;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) return undefined;
  return url.href.replace(
    /[<>"'`\s]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

/**
 * Which document a passage belongs to. Sections of an ingested document (they carry their
 * `section`) share their file's key; a record, an attached file or anything else stands alone.
 */
export function documentKey(passage: Pick<Passage, 'id' | 'source' | 'metadata'>): string {
  const sectioned = typeof passage.metadata.section === 'string' && passage.metadata.attachment !== true;
  return sectioned ? `document:${passage.source}` : `passage:${passage.id}`;
}

/** The passages reordered so each document's passages are together, documents in order of their best passage. */
export function groupByDocument<T extends Pick<Passage, 'id' | 'source' | 'metadata'>>(
  passages: readonly T[],
): T[] {
  const groups = new Map<string, T[]>();
  for (const passage of passages) {
    const key = documentKey(passage);
    const group = groups.get(key);
    if (group) group.push(passage);
    else groups.set(key, [passage]);
  }
  return [...groups.values()].flat();
}

/**
 * The citation number of each passage of a grouped list (see `groupByDocument`): 1 for the
 * first document's passages, 2 for the next document's, and so on.
 */
export function citationNumbers(passages: readonly Pick<Passage, 'id' | 'source' | 'metadata'>[]): number[] {
  const numbers = new Map<string, number>();
  return passages.map((passage) => {
    const key = documentKey(passage);
    let number = numbers.get(key);
    if (number === undefined) {
      number = numbers.size + 1;
      numbers.set(key, number);
    }
    return number;
  });
}

/**
 * Where a passage's document lives, to show beside its title: its web address, else its path
 * relative to the folder it was ingested from (recorded at ingestion), else its source name
 * unless that is a path on the server.
 */
export function sourceLocation(passage: Pick<Passage, 'source' | 'url' | 'metadata'>): string {
  const url = safeHttpUrl(passage.url);
  if (url) return url;
  const recorded = passage.metadata.location;
  if (typeof recorded === 'string' && recorded.trim()) return recorded.trim();
  return isAbsolute(passage.source) ? basename(passage.source) : passage.source;
}

/** The document's own title: recorded at ingestion, else the part of a section title before " › ". */
function documentTitle(passage: Passage): string {
  const recorded = passage.metadata.document;
  if (typeof recorded === 'string' && recorded.trim()) return recorded.trim();
  return sourceTitle(passage).split(' › ')[0] ?? sourceTitle(passage);
}

function sectionName(passage: Passage): string | undefined {
  const section = passage.metadata.section;
  return typeof section === 'string' && section.trim() ? section.trim() : undefined;
}

/** A web address without its `#fragment`. */
function withoutFragment(url: string): string {
  const hash = url.indexOf('#');
  return hash === -1 ? url : url.slice(0, hash);
}

/** One source per document of a grouped passage list, numbered as `citationNumbers` numbers them. */
export function toSources(passages: readonly Passage[]): Source[] {
  const grouped = groupByDocument(passages);
  const numbers = citationNumbers(grouped);
  const sources: Source[] = [];
  grouped.forEach((passage, i) => {
    const index = numbers[i]!;
    const url = safeHttpUrl(passage.url);
    const entry: SourcePassage = {
      passageId: passage.id,
      ...(sectionName(passage) ? { section: sectionName(passage) } : {}),
      ...(url ? { url } : {}),
      snippet: snippet(passage.text),
    };
    const existing = sources[index - 1];
    if (!existing) {
      sources.push({
        index,
        passageId: passage.id,
        source: passage.source,
        title: sourceTitle(passage),
        ...(url ? { url } : {}),
        location: sourceLocation(passage),
        score: passage.score,
        snippet: entry.snippet,
        passages: [entry],
      });
      return;
    }
    // A second passage of the document: the source becomes the document, listing both.
    const sameUrl = existing.url && url && withoutFragment(existing.url) === withoutFragment(url);
    const documentUrl = existing.url && sameUrl ? withoutFragment(existing.url) : existing.url;
    sources[index - 1] = {
      ...existing,
      title: documentTitle(passage),
      ...(documentUrl ? { url: documentUrl } : {}),
      ...(documentUrl && existing.location === existing.url ? { location: documentUrl } : {}),
      score: Math.max(existing.score, passage.score),
      passages: [...(existing.passages ?? []), entry],
    };
  });
  return sources;
}

/** The sources an answer cites, and those it searched without citing. */
export interface CitedSources {
  readonly cited: readonly Source[];
  readonly alsoSearched: readonly Source[];
}

/**
 * Splits the sources by whether the answer cites them. An answer that cites nothing at all (a
 * model that ignored the instruction) keeps every source: nothing says which ones it used.
 */
export function citedSources(sources: readonly Source[], answer: string): CitedSources {
  const cited = new Set(citedNumbers(answer));
  if (!sources.some((source) => cited.has(source.index))) return { cited: sources, alsoSearched: [] };
  return {
    cited: sources.filter((source) => cited.has(source.index)),
    alsoSearched: sources.filter((source) => !cited.has(source.index)),
  };
}
