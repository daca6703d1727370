/**
 * The neutraliser for surfaces with no mention syntax (a terminal, the web chat, which
 * escapes HTML itself): text passes unchanged, and a stream only avoids ending a piece in
 * half a character.
 */
import { type Neutralizer, StreamHoldBack } from './neutralizer.js';

/** Nothing to decide: every character is final once read (the shared part keeps surrogate pairs whole). */
class PlainHoldBack extends StreamHoldBack {
  protected step(): void {}

  protected heldFrom(): undefined {
    return undefined;
  }
}

export const plainNeutralizer: Neutralizer = {
  neutralize: (text) => text,
  restore: (text) => text,
  holdBack: () => new PlainHoldBack(),
};
