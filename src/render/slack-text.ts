/**
 * Slack's mention syntax made inert. Slack turns `<!channel>`, `<!here>`, `<!everyone>`,
 * `<!subteam^S…>` and `<@U…>` into notifications, converts a markdown link whose destination
 * is `!here` or `@U…` into the same tokens (whichever form CommonMark allows the destination
 * in: inline, escaped `\!here`, angle-bracketed, an entity, a reference definition
 * `[r]: !channel` used anywhere in the text), and may treat bare `@channel`/`@here`/`@everyone`
 * as mass mentions. So, in text we did not write:
 *
 * - `&` and `<` become `&amp;` and `&lt;` (Slack's own escaping; both render as the
 *   character). With no raw `<`, no token and no autolink can open, and no entity the author
 *   wrote survives as one. `>` stays, so quotes still render.
 * - a zero-width space goes at the start of every place a link destination can begin whose
 *   first character could spell a mention (see `linkDestinations`), and after the `@` of
 *   `@channel`/`@here`/`@everyone`.
 *
 * Every insertion adds exactly one zero-width space in a place the inverse recognises, so
 * `restore` gives back the author's text exactly.
 */
import { couldBecome, type Neutralizer, notInsideSurrogatePair, ZWSP } from './neutralizer.js';

const MASS_MENTIONS = ['channel', 'here', 'everyone'];

/**
 * Where a link destination can begin, by CommonMark's rules, over-approximated so that the
 * decision is local (a stream must decide before the link is complete): after every `(` (an
 * inline link or image is `](`) and after every `]:` (a reference definition), past the spaces,
 * tabs, line endings and the `>` of block quotes that CommonMark allows between them and the
 * destination (continuation lines of a block quote or list keep their markers and indentation).
 * A destination starting with one of these characters could mean a mention once decoded: the
 * mention itself (`!`, `@`), a backslash escape, an entity (`&lt;` is our own escape of `<`, so
 * an angle-bracketed destination starts here too), or percent-encoding. The property tests
 * check the over-approximation against markdown-it, a CommonMark parser, on generated markdown.
 */
const MAY_SPELL_MENTION = new Set(['!', '@', '\\', '&', '%']);
const BETWEEN = new Set([' ', '\t', '\n', '\r', '\f', '\v', '>']);

/** Whether a destination may begin right after `text[i]`. */
function opensDestination(text: string, i: number): boolean {
  return text[i] === '(' || (text[i] === ':' && text[i - 1] === ']');
}

/** Past the spaces, line ends and quote markers after an opener at `i`: where a destination would begin. */
function destinationStart(text: string, i: number): number {
  let at = i + 1;
  while (at < text.length && BETWEEN.has(text[at]!)) at++;
  return at;
}

/** Past the zero-width spaces at `at`. */
function pastZwsp(text: string, at: number): number {
  while (text[at] === ZWSP) at++;
  return at;
}

/** Inserts a zero-width space at every destination start whose first character may spell a mention. */
function breakDestinations(text: string): string {
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    if (!opensDestination(text, i)) continue;
    const start = destinationStart(text, i);
    if (!MAY_SPELL_MENTION.has(text[pastZwsp(text, start)] ?? '')) continue;
    out += text.slice(copied, start) + ZWSP;
    copied = start;
    i = start - 1;
  }
  return out + text.slice(copied);
}

/** The inverse: one zero-width space fewer at each such destination start. */
function mendDestinations(text: string): string {
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    if (!opensDestination(text, i)) continue;
    const start = destinationStart(text, i);
    if (text[start] !== ZWSP || !MAY_SPELL_MENTION.has(text[pastZwsp(text, start)] ?? '')) continue;
    out += text.slice(copied, start);
    copied = start + 1;
    i = start;
  }
  return out + text.slice(copied);
}

function neutralize(text: string): string {
  return breakDestinations(text.replace(/&/g, '&amp;').replace(/</g, '&lt;')).replace(
    /@(\u200b*)(?=channel|here|everyone)/gi,
    `@${ZWSP}$1`,
  );
}

function restore(text: string): string {
  return mendDestinations(text.replace(/@\u200b(\u200b*)(?=channel|here|everyone)/gi, '@$1')).replace(
    /&(amp|lt);/g,
    (_entity, name: string) => (name === 'amp' ? '&' : '<'),
  );
}

/** Where an undecided destination opener at the end of `head` starts (its `]` for `]:`), if any. */
function pendingOpener(head: string): number | undefined {
  let at = head.length;
  while (at > 0 && (BETWEEN.has(head[at - 1]!) || head[at - 1] === ZWSP)) at--;
  if (at === 0) return undefined;
  if (head[at - 1] === ']' && at === head.length) return at - 1;
  if (head[at - 1] === '(') return at - 1;
  if (head[at - 1] === ':' && head[at - 2] === ']') return at - 2;
  return undefined;
}

function stablePrefix(text: string): number {
  let cut = text.length;
  for (;;) {
    const safe = notInsideSurrogatePair(text, cut);
    if (safe !== cut) {
      cut = safe;
      continue;
    }
    const head = text.slice(0, cut);
    const at = head.lastIndexOf('@');
    if (at >= 0 && couldBecome(head.slice(at + 1), MASS_MENTIONS)) {
      cut = at;
      continue;
    }
    // A destination opener whose first character has not arrived yet, or a `]` that a `:`
    // could still turn into one: held back until the next character decides.
    const opener = pendingOpener(head);
    if (opener !== undefined) {
      cut = opener;
      continue;
    }
    return cut;
  }
}

export const slackNeutralizer: Neutralizer = { neutralize, restore, stablePrefix };

/** Text we did not write, for Slack mrkdwn outside a stream (titles, a question's echo). */
export function slackPlainText(text: string): string {
  return neutralize(text).replace(/>/g, '&gt;');
}

/**
 * Re-checks mrkdwn produced by a converter from neutralised markdown: the only `<` token it
 * may contain is a web or mail link it built itself; anything else is shown as text.
 */
export function inertSlackTokens(mrkdwn: string): string {
  return mrkdwn.replace(/<(?!(?:https?:\/\/|mailto:)[^\s<>|]*(?:\|[^<>]*)?>)/gi, '&lt;');
}
