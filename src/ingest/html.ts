/**
 * The readable part of a web page: the `<main>` or `<article>` element when the page has one
 * (else the body), without scripts, styles, navigation, headers, footers, asides and forms,
 * as markdown for the chunker. Links are listed separately for the crawler.
 */
const DROPPED = /<(script|style|nav|header|footer|aside|noscript|form|template|svg)\b[\s\S]*?<\/\1\s*>/gi;

function decodeEntities(text: string): string {
  return text
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

function inner(html: string, pattern: RegExp): string | undefined {
  return pattern.exec(html)?.[1];
}

export interface PageContent {
  readonly title?: string;
  readonly markdown: string;
}

export async function extractMainContent(html: string): Promise<PageContent> {
  const { NodeHtmlMarkdown } = await import('node-html-markdown');
  const withoutComments = html.replace(/<!--[\s\S]*?-->/g, '');
  const rawTitle =
    inner(withoutComments, /<title[^>]*>([\s\S]*?)<\/title>/i) ??
    inner(withoutComments, /<h1[^>]*>([\s\S]*?)<\/h1>/i);
  const title = rawTitle
    ? decodeEntities(rawTitle.replace(/<[^>]+>/g, ''))
        .replace(/\s+/g, ' ')
        .trim()
    : '';
  const main =
    inner(withoutComments, /<main\b[^>]*>([\s\S]*?)<\/main>/i) ??
    inner(withoutComments, /<article\b[^>]*>([\s\S]*?)<\/article>/i) ??
    inner(withoutComments, /<[a-z]+\b[^>]*role=["']main["'][^>]*>([\s\S]*?)<\/[a-z]+>/i) ??
    inner(withoutComments, /<body[^>]*>([\s\S]*)<\/body>/i) ??
    withoutComments;
  const markdown = NodeHtmlMarkdown.translate(main.replace(DROPPED, '')).trim();
  return { ...(title ? { title } : {}), markdown };
}

/** Every `href` of the page's anchors, resolved against `base` (and its `<base href>`). */
export function extractLinks(html: string, base: string): URL[] {
  const declared = /<base\b[^>]*href=["']([^"']+)["']/i.exec(html)?.[1];
  let root: URL;
  try {
    root = new URL(declared ? decodeEntities(declared) : base, base);
  } catch {
    root = new URL(base);
  }
  const links: URL[] = [];
  for (const match of html.matchAll(/<a\b[^>]*?\shref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi)) {
    const href = decodeEntities(match[1] ?? match[2] ?? match[3] ?? '').trim();
    if (!href || href.startsWith('#') || /^(mailto|javascript|tel|data):/i.test(href)) continue;
    try {
      links.push(new URL(href, root));
    } catch {
      // A malformed link is simply not followed.
    }
  }
  return links;
}

/** `<loc>` entries of a sitemap or sitemap index. */
export function sitemapLocations(xml: string): { readonly pages: string[]; readonly sitemaps: string[] } {
  const locs = (block: string) =>
    [...block.matchAll(/<loc>\s*([\s\S]*?)\s*<\/loc>/gi)].map((m) =>
      decodeEntities(m[1]!.replace(/<!\[CDATA\[|\]\]>/g, '')),
    );
  const isIndex = /<sitemapindex\b/i.test(xml);
  return isIndex ? { pages: [], sitemaps: locs(xml) } : { pages: locs(xml), sitemaps: [] };
}
