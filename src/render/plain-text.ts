/**
 * The neutraliser for surfaces with no mention syntax (a terminal, the web chat, which
 * escapes HTML itself): text passes unchanged, and a stream only avoids ending a piece in
 * half a character.
 */
import { type Neutralizer, notInsideSurrogatePair } from './neutralizer.js';

export const plainNeutralizer: Neutralizer = {
  neutralize: (text) => text,
  restore: (text) => text,
  stablePrefix: (text) => notInsideSurrogatePair(text, text.length),
};
