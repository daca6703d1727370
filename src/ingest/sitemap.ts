/**
 * The `<loc>` entries of a sitemap or sitemap index, read with htmlparser2's tokenizer in XML
 * mode through `html-events.ts`: linear in the input, no DTD or entity expansion, and lenient
 * the way crawlers must be (a bare `&` in a URL, an unclosed tag) without losing the entries
 * around the mistake. (saxes was tried first: after one bare `&` it swallowed the rest of the
 * document, and every well-formedness error built an `Error`, about 10 µs each, so 5 MB of
 * unclosed `<loc>` tags took 4 s.)
 */
import { parseHtml } from './html-events.js';

export interface SitemapEntries {
  readonly pages: string[];
  readonly sitemaps: string[];
}

const DEFAULT_MAX_ENTRIES = 50_000;

/** `sm:loc` and `loc` alike: sitemaps come with and without a namespace prefix. */
const local = (name: string) => {
  const colon = name.indexOf(':');
  return (colon === -1 ? name : name.slice(colon + 1)).toLowerCase();
};

export function sitemapLocations(xml: string, maxEntries = DEFAULT_MAX_ENTRIES): SitemapEntries {
  const pages: string[] = [];
  const sitemaps: string[] = [];
  const names: string[] = [];
  let root: string | undefined;
  let loc: string | undefined;

  parseHtml(
    xml,
    {
      open(tag) {
        const name = local(tag);
        root ??= name;
        names.push(name);
        // A `<loc>` inside another starts over: only the innermost text is an address.
        if (name === 'loc') loc = '';
      },
      text(text) {
        if (loc !== undefined) loc += text;
      },
      close(tag) {
        names.pop();
        if (local(tag) !== 'loc' || loc === undefined) return;
        const value = loc.trim();
        loc = undefined;
        if (!value || pages.length + sitemaps.length >= maxEntries) return;
        const parent = names.at(-1);
        if (root === 'sitemapindex' && parent === 'sitemap') sitemaps.push(value);
        else if (root !== 'sitemapindex' && parent === 'url') pages.push(value);
      },
    },
    { xml: true },
  );
  return { pages, sitemaps };
}
