/**
 * The crawler's robots.txt reader decides as robots-parser (the reference, a dev dependency
 * here) does on any generated file and URL, and stays linear where robots-parser's matcher was
 * quadratic per URL: `Disallow: /` followed by hundreds of thousands of `*`, thousands of rules
 * against long URLs.
 */
import fc from 'fast-check';
import robotsModule from 'robots-parser';
import { describe, expect, it } from 'vitest';
import { MAX_ROBOTS_BYTES, MAX_RULES, readRobots } from '../../src/ingest/robots.js';

const robotsParser = robotsModule as unknown as typeof robotsModule.default;
const SITE = 'https://docs.example.com';
const AGENT = 'rag-chat-bot/1.0 (+https://example.com/bot)';

/** A pattern from the pieces that matter to matching (no `**`: a run of `*` is collapsed here, counted as written there). */
const pattern = fc
  .array(fc.constantFrom('/', 'a', 'b', 'ab', '*', '?', '=', '.', '%2a', '%2A', 'é', '$'), { maxLength: 8 })
  .map((pieces) => `/${pieces.join('').replace(/\*+/g, '*')}`);
const line = fc.oneof(
  fc.constantFrom(
    'User-agent: *',
    'User-agent: rag-chat-bot',
    'User-agent: OtherBot',
    'Crawl-delay: 3',
    '# c',
    '',
  ),
  fc
    .tuple(fc.constantFrom('Allow', 'Disallow', 'disallow', 'ALLOW'), pattern)
    .map(([key, value]) => `${key}: ${value}`),
);
const path = fc
  .array(fc.constantFrom('/', 'a', 'b', 'ab', '?', '=', '.', '%2a', 'x', 'é'), { maxLength: 10 })
  .map((pieces) => `/${pieces.join('')}`);

describe('robots.txt', () => {
  it('decides every URL as robots-parser does, on any file', () => {
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 14 }),
        fc.array(path, { minLength: 1, maxLength: 6 }),
        (lines, paths) => {
          const text = lines.join('\n');
          const reference = robotsParser(`${SITE}/robots.txt`, text);
          const ours = readRobots(text, AGENT);
          for (const p of paths) {
            const url = new URL(`${SITE}${p}`);
            expect(ours.allows(url)).toBe(reference.isAllowed(url.href, AGENT) !== false);
          }
          expect(ours.crawlDelay).toBe(reference.getCrawlDelay(AGENT));
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('reads the sitemaps and a group for its own agent', () => {
    const robots = readRobots(
      'Sitemap: https://docs.example.com/a.xml\nUser-agent: rag-chat-bot\nDisallow: /private\nCrawl-delay: 2\n\nUser-agent: *\nDisallow: /\n',
      AGENT,
    );
    expect(robots.sitemaps).toEqual(['https://docs.example.com/a.xml']);
    expect(robots.allows(new URL('/guide', SITE))).toBe(true);
    expect(robots.allows(new URL('/private/x', SITE))).toBe(false);
    expect(robots.crawlDelay).toBe(2);
  });

  it('matches a rule of hundreds of thousands of `*` against thousands of long URLs at once', () => {
    const robots = readRobots(`User-agent: *\nDisallow: /${'*'.repeat(MAX_ROBOTS_BYTES)}x\n`, AGENT);
    for (let i = 0; i < 5_000; i++) {
      expect(robots.allows(new URL(`/${'a'.repeat(2_000)}${i}`, SITE))).toBe(true);
    }
    expect(robots.allows(new URL('/ax', SITE))).toBe(false);
  });

  it('keeps the first rules of a group only, however many a file has', () => {
    const rules = Array.from({ length: MAX_RULES + 10 }, (_, i) => `Disallow: /*a*b*c*d*e*-${i}$`).join('\n');
    const robots = readRobots(`User-agent: *\n${rules}\n`, AGENT);
    expect(robots.allows(new URL('/abcde-1', SITE))).toBe(false);
    expect(robots.allows(new URL(`/abcde-${MAX_RULES + 5}`, SITE))).toBe(true);
    for (let i = 0; i < 1_000; i++) expect(robots.allows(new URL(`/${'abcd'.repeat(500)}`, SITE))).toBe(true);
  });
});
