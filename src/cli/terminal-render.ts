/**
 * Renders the core's answer events in a terminal: text as it streams, numbered sources
 * under it, failures as one clear line on stderr.
 */
import type { Failure } from '../core/failures.js';
import type { AnswerEvent, Source } from '../core/types.js';

export interface TerminalOutput {
  write(text: string): void;
  error(text: string): void;
}

export type RenderOutcome =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly failure: Failure };

export function formatSources(sources: readonly Source[]): string {
  if (sources.length === 0) return '';
  const lines = sources.map((source) => {
    const where = source.url ?? source.source;
    return `  [${source.index}] ${source.title}${where !== source.title ? ` — ${where}` : ''}`;
  });
  return `\nSources:\n${lines.join('\n')}\n`;
}

export async function renderToTerminal(
  events: AsyncIterable<AnswerEvent>,
  out: TerminalOutput,
): Promise<RenderOutcome> {
  let sources: readonly Source[] = [];
  let started = false;
  for await (const event of events) {
    switch (event.type) {
      case 'sources':
        sources = event.sources;
        break;
      case 'delta':
        if (!started) out.write('\nBot: ');
        started = true;
        out.write(event.text);
        break;
      case 'done':
        out.write(`${event.text.endsWith('\n') ? '' : '\n'}${formatSources(sources)}\n`);
        return { ok: true, text: event.text };
      case 'failure':
        // What already streamed stays on screen, with its sources, above the reason it stopped.
        if (started) out.write(`\n${formatSources(sources)}`);
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
