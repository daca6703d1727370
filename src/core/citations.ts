/**
 * Citation markers in an answer: `[2]`, `[1][3]`, `[1, 3]`. A model sometimes cites a number no
 * source carries (`[7]` when three were given); such a marker points nowhere and is removed,
 * as the answer streams, before anyone sees it. Markers inside code (a fenced block or
 * `inline code`, where `items[7]` is code, not a citation) are left alone.
 */

/** Longest marker held back while it streams: `[12, 13, 14]`. */
const MAX_MARKER_CHARS = 24;

type MarkerScan =
  | { readonly kind: 'marker'; readonly end: number; readonly numbers: readonly number[] }
  | { readonly kind: 'text' }
  | { readonly kind: 'incomplete' };

/**
 * Reads a marker starting at `text[start] === '['`: numbers separated by commas or spaces,
 * `[1]`, `[1][2]`'s parts, `[1, 3]`, `[1 3]`; a separator must be followed by a number.
 */
function scanMarker(text: string, start: number): MarkerScan {
  const numbers: number[] = [];
  let digits = '';
  /** Whether a number must come next (after `[` or a separator). */
  let wantNumber = true;
  for (let i = start + 1; i < text.length && i - start <= MAX_MARKER_CHARS; i++) {
    const char = text[i]!;
    if (char >= '0' && char <= '9') {
      digits += char;
      wantNumber = false;
      continue;
    }
    if (digits) {
      numbers.push(Number(digits));
      digits = '';
    }
    if (char === ']' && !wantNumber) return { kind: 'marker', end: i + 1, numbers };
    if ((char === ',' || char === ' ') && numbers.length > 0) {
      // A comma may be followed by spaces; a space only by a number or a comma.
      if (char === ',' && wantNumber && text[i - 1] !== ' ') return { kind: 'text' };
      wantNumber = true;
      continue;
    }
    return { kind: 'text' };
  }
  return text.length - start > MAX_MARKER_CHARS ? { kind: 'text' } : { kind: 'incomplete' };
}

/** Tracks whether the text so far is inside code: a fenced block, or an inline code span. */
class CodeTracker {
  /** The open fence's marker (```` ``` ```` or `~~~`), '' outside a fenced block. */
  private fence = '';
  private inline = false;
  /** Where the current line is: its leading spaces, a run of backticks or tildes, or past them. */
  private head: 'spaces' | 'marker' | 'done' = 'spaces';
  private marker = '';

  /** Feeds one character; true when that character is inside code. */
  step(char: string): boolean {
    if (char === '\n') {
      if (this.head === 'marker') this.settle();
      this.head = 'spaces';
      this.inline = false;
      return this.fence !== '';
    }
    if (this.head === 'spaces') {
      if (char === ' ' || char === '\t') return this.fence !== '' || this.inline;
      if (char === '`' || char === '~') {
        this.head = 'marker';
        this.marker = char;
        return true;
      }
      this.head = 'done';
    } else if (this.head === 'marker') {
      if (char === this.marker[0]) {
        this.marker += char;
        return true;
      }
      this.settle();
      this.head = 'done';
    }
    if (this.fence) return true;
    if (char === '`') {
      this.inline = !this.inline;
      return true;
    }
    return this.inline;
  }

  /** A run of backticks or tildes opened the line: a fence opens or closes, or inline code toggles. */
  private settle(): void {
    const marker = this.marker;
    this.marker = '';
    if (marker.length >= 3) {
      if (!this.fence) this.fence = marker;
      else if (marker[0] === this.fence[0] && marker.length >= this.fence.length) this.fence = '';
      return;
    }
    if (!this.fence && marker[0] === '`') this.inline = !this.inline;
  }
}

/** The marker as it should read: only the numbers that name a source, or nothing. */
function keptMarker(numbers: readonly number[], sources: number): string {
  const valid = [...new Set(numbers)].filter((n) => n >= 1 && n <= sources);
  return valid.length > 0 ? `[${valid.join(', ')}]` : '';
}

/**
 * Removes citation markers naming no source from a streamed answer. `push` returns what is
 * safe to show now, holding back a `[` that may still become a marker (and the one space
 * before it, which goes with a removed marker); `end` returns the rest.
 */
export class CitationFilter {
  private pending = '';
  /** For each UTF-16 unit of `pending`: inside code when it was read. */
  private pendingInCode: boolean[] = [];
  /** The last character given out, so a removed marker cannot leave `[` and `7]` side by side. */
  private lastOut = '';
  private readonly code = new CodeTracker();

  constructor(private readonly sources: number) {}

  push(piece: string): string {
    for (let k = 0; k < piece.length; k++) {
      const char = piece[k]!;
      this.pending += char;
      this.pendingInCode.push(this.code.step(char));
    }
    return this.drain(false);
  }

  end(): string {
    return this.drain(true);
  }

  private drain(final: boolean): string {
    const text = this.pending;
    const inCode = this.pendingInCode;
    let out = '';
    let i = 0;
    while (i < text.length) {
      const char = text[i]!;
      const spaceBefore = char === ' ' && !inCode[i];
      const at = spaceBefore ? i + 1 : i;
      if (spaceBefore && at === text.length && !final) break;
      if (text[at] === '[' && !inCode[at]) {
        const scan = scanMarker(text, at);
        if (scan.kind === 'incomplete' && !final) break;
        if (scan.kind === 'marker') {
          const kept = keptMarker(scan.numbers, this.sources);
          // "[[12]7]" or "[7 [12]7]": removing [12] (and its space) would join what is around it
          // into a marker; an invisible zero-width space keeps them apart.
          const before = out.at(-1) ?? this.lastOut;
          const joins = before === '[' || before === ',' || (before >= '0' && before <= '9');
          out += kept ? (spaceBefore ? ' ' : '') + kept : joins ? '\u200b' : '';
          i = scan.end;
          continue;
        }
      }
      out += char;
      i += 1;
    }
    this.pending = text.slice(i);
    this.pendingInCode = inCode.slice(i);
    if (out) this.lastOut = out.at(-1) ?? '';
    return out;
  }
}

/** The source numbers an answer cites, outside code, in order of first citation. */
export function citedNumbers(text: string): number[] {
  const code = new CodeTracker();
  const cited: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const inCode = code.step(text[i]!);
    if (text[i] !== '[' || inCode) continue;
    const scan = scanMarker(text, i);
    if (scan.kind === 'marker') for (const n of scan.numbers) if (!cited.includes(n)) cited.push(n);
  }
  return cited;
}
