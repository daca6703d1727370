/**
 * What reaches the terminal from rendered markdown. The renderer decodes character references
 * (`&#27;` becomes ESC, `&#7;` BEL), so text from the model or a document could carry escape
 * sequences past the control-character strip done before rendering: clear the screen, retitle
 * the window, write the clipboard (OSC 52). Only what the renderer itself writes survives: SGR
 * styles, and OSC 8 links to web and mail addresses (no more than a markdown link could make).
 * Any other escape or control character is dropped, leaving its printable rest as plain text.
 *
 * One pass: a sequence is scanned only up to the next character that cannot belong to it, and
 * an ESC always ends a scan, so no character is read more than twice.
 */

const ESC = 0x1b;
const BEL = 0x07;

/** Index just past an SGR sequence (`ESC [ 1;31 m`) starting at `at`, else undefined. */
function sgrEnd(text: string, at: number): number | undefined {
  if (text.charCodeAt(at + 1) !== 0x5b /* [ */) return undefined;
  for (let i = at + 2; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x6d /* m */) return i + 1;
    const parameter = (code >= 0x30 && code <= 0x39) || code === 0x3b /* ; */ || code === 0x3a; /* : */
    if (!parameter) return undefined;
  }
  return undefined;
}

const LINK_SCHEMES = ['http://', 'https://', 'mailto:'];

/** Index just past an OSC 8 link sequence (`ESC ] 8 ; ; URL BEL`, or ST `ESC \`), else undefined. */
function osc8End(text: string, at: number): number | undefined {
  if (!text.startsWith(']8;;', at + 1)) return undefined;
  const start = at + 5;
  for (let i = start; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const terminator = code === BEL ? 1 : code === ESC && text.charCodeAt(i + 1) === 0x5c /* \ */ ? 2 : 0;
    if (terminator > 0) {
      const url = text.slice(start, i);
      // An empty URL closes a link; an open one must go to the web or to mail.
      if (url !== '' && !LINK_SCHEMES.some((scheme) => url.toLowerCase().startsWith(scheme)))
        return undefined;
      return i + terminator;
    }
    // Printable ASCII only: no spaces, no controls, nothing a terminal could read as more.
    if (code <= 0x20 || code >= 0x7f) return undefined;
  }
  return undefined;
}

const isDroppedControl = (code: number) =>
  (code < 0x20 && code !== 0x0a && code !== 0x09) || (code >= 0x7f && code <= 0x9f);

/** `text` with only SGR styles and web or mail OSC 8 links left of its escape sequences. */
export function keepRenderedEscapes(text: string): string {
  let out = '';
  let plainFrom = 0;
  let i = 0;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === ESC) {
      const end = sgrEnd(text, i) ?? osc8End(text, i);
      out += text.slice(plainFrom, end ?? i);
      i = end ?? i + 1;
      plainFrom = i;
      continue;
    }
    if (isDroppedControl(code)) {
      out += text.slice(plainFrom, i);
      plainFrom = i + 1;
    }
    i += 1;
  }
  return out + text.slice(plainFrom);
}
