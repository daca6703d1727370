/**
 * Discord's mention syntax made inert in text we did not write: `@everyone`, `@here`,
 * `<@id>`, `<@!id>` and `<@&id>` each get a zero-width space (after the `@` of a mass
 * mention, between `<` and `@` of a user or role mention), so they render as written but
 * notify no one. Messages also carry `allowed_mentions: { parse: [] }`; this is the second
 * lock, for places allowed_mentions does not cover (thread names, embeds, copies).
 * `restore` removes exactly the spaces inserted, giving back the author's text.
 */
import { escapeMarkdown } from 'discord.js';
import { MassMention, type Neutralizer, StreamHoldBack, ZWSP } from './neutralizer.js';

const MASS_MENTIONS = ['everyone', 'here'];

function neutralize(text: string): string {
  return text
    .replace(/<(\u200b*)(?=@)/g, `<${ZWSP}$1`)
    .replace(/@(\u200b*)(?=everyone|here)/gi, `@${ZWSP}$1`);
}

function restore(text: string): string {
  return text.replace(/@\u200b(\u200b*)(?=everyone|here)/gi, '@$1').replace(/<\u200b(\u200b*)(?=@)/g, '<$1');
}

/**
 * Discord's stream: an undecided `<` (followed so far only by zero-width spaces: an `@` would
 * make it a mention) or `@` (followed by what could still spell `everyone` or `here`) is held
 * back, and a `<` whose mention waits on the `@` after it is held with that `@`. A `<` followed
 * by anything else is decided at once, so a run of `<` holds back only its last.
 */
class DiscordHoldBack extends StreamHoldBack {
  private angle: number | undefined;
  private mention: MassMention | undefined;
  /** The `<` made a mention by the `@` still forming, which a cut must not separate from it. */
  private angleOfMention: number | undefined;

  protected step(c: string, at: number): void {
    if (this.angle !== undefined) {
      if (c === ZWSP) return;
      if (c === '@') this.angleOfMention = this.angle;
      this.angle = undefined;
    } else if (this.mention) {
      const decision = this.mention.next(c);
      if (decision === 'open') return;
      this.mention = undefined;
      this.angleOfMention = undefined;
      if (decision === 'mention') return;
    }
    if (c === '<') this.angle = at;
    else if (c === '@') this.mention = new MassMention(at, MASS_MENTIONS);
  }

  protected heldFrom(): number | undefined {
    return this.angle ?? this.angleOfMention ?? this.mention?.at;
  }
}

export const discordNeutralizer: Neutralizer = { neutralize, restore, holdBack: () => new DiscordHoldBack() };

/** A document's title or file name as literal Discord markdown: no pings, no formatting. */
export function discordPlainText(text: string): string {
  return escapeMarkdown(neutralize(text)).replace(/[[\]()]/g, '\\$&');
}
