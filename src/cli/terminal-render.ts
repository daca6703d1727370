/**
 * Renders the core's answer events in a terminal: the answer's markdown as styled text while
 * it streams (markdansi, line by line, so scrollback is never redrawn), numbered sources under
 * it, failures as one clear line on stderr. When stdout is not a terminal the same rendering
 * runs without colours or hyperlinks, so pipes and files get plain text rather than raw `**`.
 */
import { createMarkdownStreamer, render } from 'markdansi';
import type { Failure } from '../core/failures.js';
import type { AnswerEvent, Source } from '../core/types.js';

export interface TerminalOutput {
  write(text: string): void;
  error(text: string): void;
}

export interface TerminalStyle {
  /** ANSI styles and OSC 8 hyperlinks; off for pipes, files and NO_COLOR. */
  readonly color: boolean;
  readonly width: number;
}

export const PLAIN: TerminalStyle = { color: false, width: 100 };

export type RenderOutcome =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly failure: Failure };

/** The style for a stream: colours only on a real terminal, and never when NO_COLOR is set. */
export function styleFor(stream: { isTTY?: boolean; columns?: number }, env = process.env): TerminalStyle {
  const color = Boolean(stream.isTTY) && env.NO_COLOR === undefined && env.TERM !== 'dumb';
  return { color, width: Math.max(40, Math.min(stream.columns ?? 100, 120)) };
}

// C0/C1 control characters other than tab and newline, ESC included: text from the model or a
// document must not move the cursor, retitle the window or forge a hyperlink in the terminal.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function stripControls(text: string): string {
  return text.replace(CONTROL, '');
}

export function formatSources(sources: readonly Source[]): string {
  if (sources.length === 0) return '';
  const lines = sources.map((source) => {
    const title = stripControls(source.title);
    const where = stripControls(source.url ?? source.source);
    return `  [${source.index}] ${title}${where !== title ? ` — ${where}` : ''}`;
  });
  return `\nSources:\n${lines.join('\n')}\n`;
}

function markdownStreamer(style: TerminalStyle) {
  return createMarkdownStreamer({
    render: (markdown) =>
      render(markdown, { color: style.color, hyperlinks: style.color, width: style.width, codeBox: false }),
    spacing: 'single',
  });
}

export async function renderToTerminal(
  events: AsyncIterable<AnswerEvent>,
  out: TerminalOutput,
  style: TerminalStyle = PLAIN,
): Promise<RenderOutcome> {
  let sources: readonly Source[] = [];
  let started = false;
  const streamer = markdownStreamer(style);
  const finishText = () => {
    const rest = streamer.finish();
    if (rest) out.write(rest);
  };
  for await (const event of events) {
    switch (event.type) {
      case 'sources':
        sources = event.sources;
        break;
      case 'delta': {
        if (!started) out.write('\nBot: ');
        started = true;
        const rendered = streamer.push(stripControls(event.text));
        if (rendered) out.write(rendered);
        break;
      }
      case 'done':
        finishText();
        out.write(`${formatSources(sources)}\n`);
        return { ok: true, text: event.text };
      case 'failure':
        // What already streamed stays on screen, with its sources, above the reason it stopped.
        if (started) {
          finishText();
          out.write(formatSources(sources));
        }
        out.error(`\n${event.failure.message}\n\n`);
        return { ok: false, failure: event.failure };
      case 'status':
        break;
    }
  }
  const failure: Failure = { kind: 'internal', message: 'The answer ended unexpectedly.' };
  out.error(`${failure.message}\n`);
  return { ok: false, failure };
}
