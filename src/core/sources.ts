/** Turns the passages the model saw into the numbered sources a user sees. */
import { basename } from 'node:path';
import type { Passage, Source } from './types.js';

const SNIPPET_CHARS = 160;

export function snippet(text: string): string {
  const flat = text
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/[#>*_`]+/g, ' ')
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

export function toSources(passages: readonly Passage[]): Source[] {
  return passages.map((passage, i) => {
    const url = safeHttpUrl(passage.url);
    return {
      index: i + 1,
      passageId: passage.id,
      source: passage.source,
      title: sourceTitle(passage),
      ...(url ? { url } : {}),
      score: passage.score,
      snippet: snippet(passage.text),
    };
  });
}
