/**
 * robots.txt (RFC 9309) for the crawler, in time linear in what it reads: the groups, rules,
 * Crawl-delay and Sitemap lines as robots-parser reads them (the two are checked to agree in
 * test/unit/robots.property.test.ts), but a rule is matched by finding
 * its literal pieces in order (`indexOf`), not by robots-parser's table of every length of
 * the path per pattern character: `Disallow: /` followed by millions of `*` made that take
 * 30 s per URL, on the thread that answers.
 *
 * What is read is bounded as Google bounds it: the first 500 KiB, rules of at most
 * `MAX_PATTERN_CHARS` with runs of `*` collapsed, and at most `MAX_RULES` rules per group;
 * a URL longer than `MAX_URL_CHARS` is not crawled at all (`crawlable`).
 */

/** What Google reads of a robots.txt; the rest is ignored. */
export const MAX_ROBOTS_BYTES = 500 * 1024;
/** Rules kept for one user agent; further ones are ignored. */
export const MAX_RULES = 2_000;
/** A rule longer than this is cut (a rule's path is a URL's). */
const MAX_PATTERN_CHARS = 2_048;
/** Longer URLs are not crawled (the sitemap protocol's limit). */
export const MAX_URL_CHARS = 2_048;

interface Rule {
  /** The pattern's literal pieces between `*`: the first is a prefix, the rest are found in order. */
  readonly pieces: readonly string[];
  /** A trailing `$`: the last piece ends the path. */
  readonly anchored: boolean;
  /** The pattern's length as written (normalised): the longest matching rule wins. */
  readonly length: number;
  readonly allow: boolean;
}

interface Group {
  readonly rules: Rule[];
  crawlDelay?: number;
}

export interface RobotsRules {
  /** Whether `url` (on the site whose robots.txt this is) may be fetched. */
  allows(url: URL): boolean;
  /** Seconds between requests the site asks of our agent, if it asks. */
  readonly crawlDelay: number | undefined;
  /** Sitemaps the file names, as written. */
  readonly sitemaps: readonly string[];
}

/** `%2a` and `%2A` are the same byte: compared in upper case. */
function upperEscapes(path: string): string {
  return path.replace(/%[0-9a-fA-F]{2}/g, (encoded) => encoded.toUpperCase());
}

/** A pattern with non-ASCII characters percent-encoded (as a URL's path is), escapes in upper case. */
function normalise(pattern: string): string {
  try {
    return upperEscapes(encodeURI(pattern).replaceAll('%25', '%'));
  } catch {
    return pattern;
  }
}

/** The user agent's product token: lower case, no version. */
function agentToken(userAgent: string): string {
  const lower = userAgent.toLowerCase();
  const slash = lower.indexOf('/');
  return (slash === -1 ? lower : lower.slice(0, slash)).trim();
}

function compile(raw: string, allow: boolean): Rule {
  // `**` matches what `*` does: runs are collapsed before anything else looks at the pattern.
  let collapsed = '';
  for (let i = 0; i < raw.length && collapsed.length < MAX_PATTERN_CHARS; i++) {
    const char = raw[i] as string;
    if (char !== '*' || !collapsed.endsWith('*')) collapsed += char;
  }
  const pattern = normalise(collapsed);
  const anchored = pattern.endsWith('$');
  const body = anchored ? pattern.slice(0, -1) : pattern;
  return { pieces: body.split('*'), anchored, length: pattern.length, allow };
}

/** Whether the rule matches `path`: pieces found left to right, each as early as it can be (which is optimal for `*`). */
function matches(rule: Rule, path: string): boolean {
  const { pieces, anchored } = rule;
  const first = pieces[0] as string;
  if (!path.startsWith(first)) return false;
  let at = first.length;
  if (pieces.length === 1) return !anchored || at === path.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i] as string;
    const found = path.indexOf(piece, at);
    if (found === -1) return false;
    at = found + piece.length;
  }
  const last = pieces[pieces.length - 1] as string;
  if (anchored) return path.length - last.length >= at && path.endsWith(last);
  return path.indexOf(last, at) !== -1;
}

/** Reads `text` (a robots.txt, cut to `MAX_ROBOTS_BYTES` by the caller) for `userAgent`. */
export function readRobots(text: string, userAgent: string): RobotsRules {
  const groups = new Map<string, Group>();
  const sitemaps: string[] = [];
  let agents: string[] = [];
  let readingAgents = false;
  const groupsOf = (names: readonly string[]) =>
    names.map((name) => {
      let group = groups.get(name);
      if (!group) {
        group = { rules: [] };
        groups.set(name, group);
      }
      return group;
    });

  let start = 0;
  while (start <= text.length) {
    let end = start;
    while (end < text.length && text[end] !== '\n' && text[end] !== '\r') end++;
    const line = text.slice(start, end);
    start = end + (text[end] === '\r' && text[end + 1] === '\n' ? 2 : 1);
    const hash = line.indexOf('#');
    const content = hash === -1 ? line : line.slice(0, hash);
    const colon = content.indexOf(':');
    if (colon === -1) continue;
    const key = content.slice(0, colon).trim().toLowerCase();
    const value = content.slice(colon + 1).trim();
    if (!key) continue;
    switch (key) {
      case 'user-agent':
        if (!readingAgents) agents = [];
        if (value) agents.push(agentToken(value));
        break;
      case 'allow':
      case 'disallow':
        for (const group of groupsOf(agents)) {
          if (value && group.rules.length < MAX_RULES) group.rules.push(compile(value, key === 'allow'));
        }
        break;
      case 'crawl-delay': {
        const delay = Number(value);
        for (const group of groupsOf(agents)) if (!Number.isNaN(delay)) group.crawlDelay = delay;
        break;
      }
      case 'sitemap':
        if (value) sitemaps.push(value);
        break;
    }
    readingAgents = key === 'user-agent';
  }

  const group = groups.get(agentToken(userAgent)) ?? groups.get('*');
  const rules = group?.rules ?? [];
  return {
    crawlDelay: group?.crawlDelay,
    sitemaps,
    allows(url: URL): boolean {
      const path = upperEscapes(url.pathname + url.search);
      let best: Rule | undefined;
      for (const rule of rules) {
        // The longest pattern decides; between equals, allowing wins.
        if (
          best &&
          (rule.length < best.length || (rule.length === best.length && (best.allow || !rule.allow)))
        )
          continue;
        if (matches(rule, path)) best = rule;
      }
      return best?.allow ?? true;
    },
  };
}

/** Whether a URL is short enough to be crawled at all. */
export function crawlable(url: string): boolean {
  return url.length <= MAX_URL_CHARS;
}
