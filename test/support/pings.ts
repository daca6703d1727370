/**
 * What each platform would turn into a notification, written from the platforms' docs and
 * independent of the code under test: tests check that nothing the bot sends contains one.
 */
import MarkdownIt, { type Env, type Token } from 'markdown-it';

/** Slack: special tokens, user and group mentions, and bare mass mentions. */
const SLACK_PINGS = [
  /<!(?:channel|here|everyone)/i,
  /<!subteam\^/i,
  /<@[UW]/i,
  /@(?:channel|here|everyone)/i,
];
/** Discord: mass mentions, user, nickname and role mentions. */
const DISCORD_PINGS = [/@(?:everyone|here)/i, /<@[!&]?\d/];

/**
 * Markdown as Slack reads `markdown_text`: CommonMark (and its GFM tables and strikethrough),
 * every link kept whatever its scheme, so a link markdown-it would drop for safety still counts.
 */
const parsers = [new MarkdownIt('default'), new MarkdownIt('commonmark')];
for (const parser of parsers) parser.validateLink = () => true;

/** Percent-decoding as lenient as a browser's: what a destination could mean once decoded. */
function decoded(href: string): string {
  try {
    return decodeURIComponent(href);
  } catch {
    return href;
  }
}

/**
 * Every link destination in `text` as CommonMark resolves it (inline and reference links,
 * images, autolinks, and reference definitions, used or not), decoded.
 */
export function linkDestinations(text: string): string[] {
  const found = new Set<string>();
  for (const parser of parsers) {
    const env: Env = {};
    const visit = (tokens: readonly Token[]) => {
      for (const token of tokens) {
        const href = token.attrGet('href') ?? token.attrGet('src');
        if (href !== null && (token.type === 'link_open' || token.type === 'image'))
          found.add(decoded(String(href)));
        if (token.children) visit(token.children);
      }
    };
    visit(parser.parse(text, env));
    for (const reference of Object.values(env.references ?? {})) found.add(decoded(reference.href));
  }
  return [...found];
}

/**
 * Slack converts a markdown link into its own link token, `<destination|text>`: a destination
 * that is (or decodes to) a mention is one. A zero-width space in front of it makes it plain text.
 */
const MENTION_DESTINATION = /^\s*<?\s*(?:!|@[UWB]|@(?:channel|here|everyone))/i;

export function slackPings(text: string): string[] {
  return [
    ...SLACK_PINGS.flatMap((pattern) => pattern.exec(text)?.[0] ?? []),
    ...linkDestinations(text)
      .filter((destination) => MENTION_DESTINATION.test(destination))
      .map((destination) => `link to ${destination}`),
  ];
}

export function discordPings(text: string): string[] {
  return DISCORD_PINGS.flatMap((pattern) => pattern.exec(text)?.[0] ?? []);
}
