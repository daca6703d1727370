/**
 * Splits markdown into messages no longer than a platform's limit (Discord 2,000 characters,
 * Slack blocks 3,000…), preferring paragraph boundaries, then line boundaries, then spaces.
 * A code block cut across messages is closed at the end of one and reopened, with its
 * language, at the start of the next, so every message renders on its own.
 */

// `s`: the info string runs to the end of the line whatever it holds (a `\r` would make `.*$` backtrack).
const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/s;

interface Fence {
  /** The opening line, repeated at the top of the next message. */
  readonly opener: string;
  /** What closes it: the same marker character, at least as many times. */
  readonly marker: string;
}

function openFence(line: string, limit: number): Fence | null {
  const match = FENCE_OPEN.exec(line);
  if (!match?.[1]) return null;
  // A backtick fence's info string may not contain backticks; such a line is inline code.
  if (match[1].startsWith('`') && match[2]?.includes('`')) return null;
  // Reopening must leave room for text in the next message: a long info string is not
  // repeated, and a fence too long to close and reopen is not carried across at all.
  const room = Math.floor(limit / 5);
  if (match[1].length > room) return null;
  return { opener: line.length <= room ? line : match[1], marker: match[1] };
}

function closesFence(line: string, fence: Fence): boolean {
  const trimmed = line.trim();
  const char = fence.marker[0] ?? '`';
  return trimmed.length >= fence.marker.length && [...trimmed].every((c) => c === char);
}

/**
 * The largest cut ≤ `max` that does not split a character (a surrogate pair) or an entity
 * such as `&lt;` that neutralised text contains, so each piece renders what it holds.
 */
export function safeCut(text: string, max: number): number {
  if (text.length <= max) return text.length;
  let at = max;
  const entity = /&[a-z]{0,5}$/i.exec(text.slice(Math.max(0, at - 6), at));
  if (entity && /^[a-z]{0,5};/i.test(text.slice(at))) at -= entity[0].length;
  const code = text.charCodeAt(at - 1);
  if (code >= 0xd800 && code <= 0xdbff) at -= 1;
  return at > 0 ? at : max;
}

/** Cuts one overlong line into pieces of at most `max`, preferring the last space. */
function cutLine(line: string, max: number): string[] {
  const pieces: string[] = [];
  let rest = line;
  while (rest.length > max) {
    const space = rest.lastIndexOf(' ', max);
    const at = space > max / 2 ? space : safeCut(rest, max);
    pieces.push(rest.slice(0, at));
    rest = rest.slice(at).replace(/^ /, '');
  }
  pieces.push(rest);
  return pieces;
}

/** Drops blank lines at either end without touching a code line's indentation. */
function trimBlankLines(body: string): string {
  return body.replace(/^(?:[ \t]*\n)+/, '').trimEnd();
}

export function splitMarkdown(text: string, limit: number): string[] {
  if (!Number.isInteger(limit) || limit < 40)
    throw new RangeError(`limit must be an integer ≥ 40, got ${limit}`);
  const source = trimBlankLines(text.replace(/\r\n?/g, '\n'));
  if (source.length <= limit) return source ? [source] : [];

  const messages: string[] = [];
  let lines: string[] = [];
  let length = 0; // lines.join('\n').length, kept incrementally
  let fence: Fence | null = null; // code block open at the end of `lines`
  let fenceStart = -1; // index of its opener in `lines` (0 when reopened at the top of a message)
  let paragraphBreak = -1; // last blank line outside code in `lines`: cutting there keeps paragraphs whole

  const lengthWith = (line: string) => (lines.length === 0 ? line.length : length + 1 + line.length);
  const emit = (chunk: readonly string[], closing?: string) => {
    const body = trimBlankLines(chunk.join('\n'));
    if (body) messages.push(closing ? `${body}\n${closing}` : body);
  };
  const restart = (carried: string[]) => {
    lines = carried;
    length = carried.join('\n').length;
    paragraphBreak = -1;
  };

  /** Ends the current message at the best boundary available. */
  const flush = () => {
    const breakOutsideCode = paragraphBreak > 0 && (!fence || fenceStart > paragraphBreak);
    if (breakOutsideCode) {
      emit(lines.slice(0, paragraphBreak));
      if (fence) fenceStart -= paragraphBreak + 1;
      restart(lines.slice(paragraphBreak + 1));
    } else if (fence) {
      emit(lines, fence.marker);
      fenceStart = 0;
      restart([fence.opener]);
    } else {
      emit(lines);
      restart([]);
    }
  };

  for (const rawLine of source.split('\n')) {
    // Whether a line opens or closes a code block is decided on the whole line, not on the
    // pieces a long line is cut into; each piece leaves room for reopening and closing it.
    const opensHere: Fence | null = fence ? null : openFence(rawLine, limit);
    const closesHere = fence ? closesFence(rawLine, fence) : false;
    const carried = fence ?? opensHere;
    const reserve: number = carried ? carried.opener.length + carried.marker.length + 2 : 5;
    for (const [piece, line] of cutLine(rawLine, Math.max(20, limit - reserve)).entries()) {
      // Only a whole line (or the start of a cut one) can open or close a code block.
      const opening: Fence | null = fence || piece > 0 ? null : opensHere;
      const open: Fence | null = fence ? (piece === 0 && closesHere ? null : fence) : opening;
      const closingCost = open ? open.marker.length + 1 : 0;
      while (lines.length > 0 && lengthWith(line) + closingCost > limit) flush();

      length = lengthWith(line);
      lines.push(line);
      if (fence && !open) {
        fence = null;
        fenceStart = -1;
      } else if (opening) {
        fence = opening;
        fenceStart = lines.length - 1;
      } else if (!fence && line.trim() === '') {
        paragraphBreak = lines.length - 1;
      }
    }
  }
  emit(lines, fence?.marker);
  return messages;
}
