/**
 * Slack's mention syntax made inert. Slack turns `<!channel>`, `<!here>`, `<!everyone>`,
 * `<!subteam^S…>` and `<@U…>` into notifications, converts a markdown link whose target is
 * `!here` or `@U…` into the same tokens, and may treat bare `@channel`/`@here`/`@everyone`
 * as mass mentions. So, in text we did not write:
 *
 * - `&` and `<` become `&amp;` and `&lt;` (Slack's own escaping; both render as the
 *   character). With no raw `<`, no token can open. `>` stays, so quotes still render.
 * - a zero-width space goes after a link's `(` when a `!` or `@` follows, and after the `@`
 *   of `@channel`/`@here`/`@everyone`.
 *
 * Every insertion adds exactly one zero-width space in a place the inverse recognises, so
 * `restore` gives back the author's text exactly.
 */
import { couldBecome, type Neutralizer, notInsideSurrogatePair, ZWSP } from './neutralizer.js';

const MASS_MENTIONS = ['channel', 'here', 'everyone'];

function neutralize(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/\((\s*)(\u200b*)(?=[!@])/g, `($1${ZWSP}$2`)
    .replace(/@(\u200b*)(?=channel|here|everyone)/gi, `@${ZWSP}$1`);
}

function restore(text: string): string {
  return text
    .replace(/@\u200b(\u200b*)(?=channel|here|everyone)/gi, '@$1')
    .replace(/\((\s*)\u200b(\u200b*)(?=[!@])/g, '($1$2')
    .replace(/&(amp|lt);/g, (_entity, name: string) => (name === 'amp' ? '&' : '<'));
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
    const paren = /\(\s*\u200b*$/.exec(head);
    if (paren) {
      cut = paren.index;
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
  return mrkdwn.replace(/<(?!(?:https?:\/\/|mailto:)[^\s<>]*(?:\|[^<>]*)?>)/gi, '&lt;');
}
