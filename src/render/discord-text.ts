/**
 * Discord's mention syntax made inert in text we did not write: `@everyone`, `@here`,
 * `<@id>`, `<@!id>` and `<@&id>` each get a zero-width space (after the `@` of a mass
 * mention, between `<` and `@` of a user or role mention), so they render as written but
 * notify no one. Messages also carry `allowed_mentions: { parse: [] }`; this is the second
 * lock, for places allowed_mentions does not cover (thread names, embeds, copies).
 * `restore` removes exactly the spaces inserted, giving back the author's text.
 */
import { escapeMarkdown } from 'discord.js';
import { couldBecome, type Neutralizer, notInsideSurrogatePair, ZWSP } from './neutralizer.js';

const MASS_MENTIONS = ['everyone', 'here'];

function neutralize(text: string): string {
  return text
    .replace(/<(\u200b*)(?=@)/g, `<${ZWSP}$1`)
    .replace(/@(\u200b*)(?=everyone|here)/gi, `@${ZWSP}$1`);
}

function restore(text: string): string {
  return text.replace(/@\u200b(\u200b*)(?=everyone|here)/gi, '@$1').replace(/<\u200b(\u200b*)(?=@)/g, '<$1');
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
    const angle = /<\u200b*$/.exec(head);
    if (angle) {
      cut = angle.index;
      continue;
    }
    return cut;
  }
}

export const discordNeutralizer: Neutralizer = { neutralize, restore, stablePrefix };

/** A document's title or file name as literal Discord markdown: no pings, no formatting. */
export function discordPlainText(text: string): string {
  return escapeMarkdown(neutralize(text)).replace(/[[\]()]/g, '\\$&');
}
