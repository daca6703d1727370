/**
 * The terminal as a conversation: the answer's markdown rendered as styled text while it
 * streams (markdansi, line by line, so scrollback is never redrawn), numbered sources under
 * it, notices and failures as one clear line on stderr. When stdout is not a terminal the same
 * rendering runs without colours or hyperlinks, so pipes and files get plain text, not `**`.
 *
 * The answer hangs under "Bot: ", wrapped at word boundaries to the width left beside it (the
 * label no longer pushes the first line past the edge, where the terminal would break a word).
 * Links are OSC 8 hyperlinks only where the terminal declares it shows them; elsewhere (tmux,
 * screen, most terminals) the URL is written after the link text.
 */
import { createMarkdownStreamer, render } from 'markdansi';
import { createSupportsHyperlinks } from 'supports-hyperlinks';
import type { Conversation, FinalReply, LiveReply } from '../conversation/conversation.js';
import { strings } from '../conversation/strings.js';
import type { Source, Turn } from '../core/types.js';
import { plainNeutralizer } from '../render/plain-text.js';
import { keepRenderedEscapes } from './terminal-escapes.js';

export interface TerminalOutput {
  write(text: string): void;
  error(text: string): void;
}

export interface TerminalStyle {
  /** ANSI styles; off for pipes, files and NO_COLOR. */
  readonly color: boolean;
  /** OSC 8 hyperlinks, whose URL the terminal hides; only where it declares support. */
  readonly hyperlinks: boolean;
  /** Columns to fit the answer in, its "Bot: " label included. */
  readonly width: number;
}

export const PLAIN: TerminalStyle = { color: false, hyperlinks: false, width: 100 };

/** What starts an answer; its text hangs under it. */
const LABEL = 'Bot: ';
const HANG = ' '.repeat(LABEL.length);

/**
 * Whether the terminal shows OSC 8 hyperlinks, as it declares it (supports-hyperlinks reads
 * FORCE_HYPERLINK, TERM_PROGRAM and its version, VTE_VERSION, WT_SESSION, TERM…). tmux and
 * screen pass the sequence on only when configured to, and hide the URL otherwise: there the
 * answer shows the URL, unless FORCE_HYPERLINK=1 says the multiplexer passes links on.
 */
export function terminalHyperlinks(stream: { isTTY?: boolean }, env = process.env): boolean {
  const forced = env.FORCE_HYPERLINK;
  if (forced !== undefined && forced !== '') return forced !== '0';
  const multiplexed =
    env.TERM_PROGRAM === 'tmux' || env.TMUX !== undefined || /^(screen|tmux)/.test(env.TERM ?? '');
  return !multiplexed && createSupportsHyperlinks(stream);
}

/** The style for a stream: colours only on a real terminal, and never when NO_COLOR is set. */
export function styleFor(stream: { isTTY?: boolean; columns?: number }, env = process.env): TerminalStyle {
  const color = Boolean(stream.isTTY) && env.NO_COLOR === undefined && env.TERM !== 'dumb';
  return {
    color,
    hyperlinks: color && terminalHyperlinks(stream, env),
    width: Math.max(40, Math.min(stream.columns ?? 100, 120)),
  };
}

// C0/C1 control characters other than tab and newline, ESC included: text from the model or a
// document must not move the cursor, retitle the window or forge a hyperlink in the terminal.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function stripControls(text: string): string {
  return text.replace(CONTROL, '');
}

export function formatSources(sources: readonly Source[], alsoSearched: readonly Source[] = []): string {
  if (sources.length === 0) return '';
  const lines = sources.map((source) => {
    const title = stripControls(source.title);
    const passages = source.passages ?? [];
    const sections =
      passages.length > 1
        ? ` (${[...new Set(passages.map((passage) => stripControls(passage.section ?? title)))].join('; ')})`
        : '';
    const where = stripControls(source.url ?? source.location ?? source.source);
    return `  [${source.index}] ${title}${sections}${where !== title ? ` — ${where}` : ''}`;
  });
  const also =
    alsoSearched.length > 0
      ? `\n${strings.alsoSearched}: ${alsoSearched.map((source) => stripControls(source.title)).join(', ')}\n`
      : '';
  return `\n${strings.sourcesHeading}:\n${lines.join('\n')}\n${also}`;
}

/** Indents every line after the first by the label's width; blank lines stay empty. */
function hangingIndent() {
  let lineStart = false;
  return (rendered: string) => {
    let out = '';
    for (const char of rendered) {
      if (lineStart && char !== '\n') out += HANG;
      out += char;
      lineStart = char === '\n';
    }
    return out;
  };
}

function terminalReply(out: TerminalOutput, style: TerminalStyle): LiveReply {
  const streamer = createMarkdownStreamer({
    render: (markdown) =>
      render(markdown, {
        color: style.color,
        hyperlinks: style.hyperlinks,
        width: Math.max(20, style.width - LABEL.length),
        codeBox: false,
      }),
    spacing: 'single',
  });
  const indent = hangingIndent();
  let started = false;
  const push = (piece: string) => {
    if (!piece) return;
    if (!started) out.write(`\n${LABEL}`);
    started = true;
    const rendered = streamer.push(stripControls(piece));
    if (rendered) out.write(indent(keepRenderedEscapes(rendered)));
  };
  return {
    writes: 'append',
    async write(piece) {
      push(piece);
    },
    async finish(final: FinalReply) {
      push(final.text.slice(final.written));
      if (started) {
        const rest = streamer.finish();
        if (rest) out.write(indent(keepRenderedEscapes(rest)));
        out.write(formatSources(final.sources, final.alsoSearched));
        if (!final.notice) out.write('\n');
      }
      // What already streamed stays on screen, with its sources, above the reason it stopped.
      if (final.notice) out.error(`\n${final.notice}\n\n`);
    },
  };
}

export function terminalConversation(
  out: TerminalOutput,
  style: TerminalStyle,
  history: readonly Turn[],
): Conversation {
  return {
    place: { platform: 'terminal', direct: true },
    asker: { id: 'terminal' },
    presenter: { neutralizer: plainNeutralizer, writeIntervalMs: 0 },
    history: async () => [...history],
    openReply: async () => terminalReply(out, style),
    notify: async (text) => out.error(`${text}\n`),
  };
}
