/**
 * What each platform would turn into a notification, written from the platforms' docs and
 * independent of the code under test: tests check that nothing the bot sends contains one.
 */

/**
 * Slack: special tokens, user and group mentions, bare mass mentions, and markdown links
 * whose target is one (Slack converts `[x](!here)` into `<!here|x>`).
 */
const SLACK_PINGS = [
  /<!(?:channel|here|everyone)/i,
  /<!subteam\^/i,
  /<@[UW]/i,
  /@(?:channel|here|everyone)/i,
  /\]\(\s*[!@]/,
];
/** Discord: mass mentions, user, nickname and role mentions. */
const DISCORD_PINGS = [/@(?:everyone|here)/i, /<@[!&]?\d/];

export function slackPings(text: string): string[] {
  return SLACK_PINGS.flatMap((pattern) => pattern.exec(text)?.[0] ?? []);
}

export function discordPings(text: string): string[] {
  return DISCORD_PINGS.flatMap((pattern) => pattern.exec(text)?.[0] ?? []);
}
