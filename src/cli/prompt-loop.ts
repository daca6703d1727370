/**
 * The interactive `You: ` loop of `npm run ask`, kept apart from the runtime so it can be
 * driven by any pair of streams (a terminal, a pipe, a test's fake TTY).
 */
import { createInterface } from 'node:readline';
import type { Turn } from '../core/types.js';

export interface PromptLoopOptions {
  readonly input: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly output: NodeJS.WritableStream;
  /** Answers one question, rendering it; aborting the signal stops the answer being written. */
  ask(text: string, history: readonly Turn[], signal: AbortSignal): Promise<AskOutcome>;
  /** Turns kept as conversation history for follow-ups; the core trims further to its token budget. */
  readonly historyTurns?: number;
}

/** What the loop needs to know of an answer: whether it joins the conversation. */
export type AskOutcome = { readonly ok: true; readonly text: string } | { readonly ok: false };

export const LEAVE_HINT = '(To leave, type exit, press Ctrl-D, or press Ctrl-C again.)';

/**
 * Lines are queued as readline reads them, so input that ends while an answer streams (a pipe
 * with several questions, Ctrl-D mid-answer) still gets every queued question answered before
 * the loop ends, and nothing touches readline once it has closed. Ctrl-C behaves as in a
 * shell: it stops the answer being written, clears a half-typed line, and on an empty prompt
 * twice in a row leaves.
 */
export async function runPromptLoop(options: PromptLoopOptions): Promise<void> {
  const { output } = options;
  const historyTurns = options.historyTurns ?? 10;
  const rl = createInterface({
    input: options.input,
    output,
    terminal: Boolean(options.input.isTTY),
  });
  const queued: string[] = [];
  let closed = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  let interruptedAtPrompt = false;
  rl.on('line', (line) => {
    interruptedAtPrompt = false;
    queued.push(line);
    notify();
  });
  rl.on('close', () => {
    closed = true;
    notify();
  });
  const nextLine = async (): Promise<string | undefined> => {
    while (queued.length === 0 && !closed) await new Promise<void>((resolve) => (wake = resolve));
    return queued.shift();
  };
  const prompt = () => {
    if (!closed) rl.prompt();
  };

  let answering: AbortController | undefined;
  rl.on('SIGINT', () => {
    if (answering) {
      answering.abort(new Error('stopped by the user'));
      return;
    }
    if (rl.line.length > 0) {
      rl.write(null, { ctrl: true, name: 'u' });
      output.write('^C\n');
      prompt();
      return;
    }
    if (interruptedAtPrompt) {
      rl.close();
      return;
    }
    interruptedAtPrompt = true;
    output.write(`^C\n${LEAVE_HINT}\n`);
    prompt();
  });

  const history: Turn[] = [];
  output.write('Ask a question about the knowledge base. Type exit or quit to leave.\n');
  rl.setPrompt('You: ');
  prompt();
  for (let line = await nextLine(); line !== undefined; line = await nextLine()) {
    const text = line.trim();
    if (/^(exit|quit)$/i.test(text)) break;
    if (text) {
      answering = new AbortController();
      const outcome = await options.ask(text, history, answering.signal);
      answering = undefined;
      if (outcome.ok) {
        history.push({ role: 'user', text }, { role: 'assistant', text: outcome.text });
        history.splice(0, Math.max(0, history.length - historyTurns));
      }
    }
    prompt();
  }
  if (!closed) rl.close();
  output.write('\nBye.\n');
}
