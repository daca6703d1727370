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
import { MassMention, type Neutralizer, StreamHoldBack, ZWSP } from './neutralizer.js';

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

/** A destination opener (`(`, or `]:` from its `]`) whose destination's first character is still to come. */
interface PendingDestination {
  readonly at: number;
  /** Past the spaces, line ends and quote markers: only zero-width spaces may follow now. */
  pastBetween: boolean;
}

/**
 * Slack's stream: held back is what is still undecided, one thing at a time: a destination
 * opener (`(`, or `]:` from its `]`) followed so far only by what may come before a destination
 * (its first character decides it, as in `breakDestinations`), a trailing `]` a `:` could make
 * one, or an `@` followed by what could still spell a mass mention; and with such an `@`, the
 * opener whose destination it starts, since the space `breakDestinations` puts between them
 * depends on both. An opener followed by anything else is decided at once, so a run of `(` or
 * `]` holds back only its last.
 */
class SlackHoldBack extends StreamHoldBack {
  private bracket: number | undefined;
  private destination: PendingDestination | undefined;
  private mention: MassMention | undefined;
  private openerOfMention: number | undefined;

  protected step(c: string, at: number): void {
    if (this.bracket !== undefined) {
      const bracket = this.bracket;
      this.bracket = undefined;
      if (c === ':') {
        this.destination = { at: bracket, pastBetween: false };
        return;
      }
    } else if (this.destination) {
      if (c === ZWSP) {
        this.destination.pastBetween = true;
        return;
      }
      if (!this.destination.pastBetween && BETWEEN.has(c)) return;
      if (c === '@') this.openerOfMention = this.destination.at;
      this.destination = undefined;
    } else if (this.mention) {
      const decision = this.mention.next(c);
      if (decision === 'open') return;
      this.mention = undefined;
      this.openerOfMention = undefined;
      if (decision === 'mention') return;
    }
    if (c === '(') this.destination = { at, pastBetween: false };
    else if (c === ']') this.bracket = at;
    else if (c === '@') this.mention = new MassMention(at, MASS_MENTIONS);
  }

  protected heldFrom(): number | undefined {
    return this.bracket ?? this.destination?.at ?? this.openerOfMention ?? this.mention?.at;
  }
}

export const slackNeutralizer: Neutralizer = { neutralize, restore, holdBack: () => new SlackHoldBack() };

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
