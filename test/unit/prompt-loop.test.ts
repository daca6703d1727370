import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type AskOutcome, LEAVE_HINT, runPromptLoop } from '../../src/cli/prompt-loop.js';
import type { Turn } from '../../src/core/types.js';

/** A question the test answers when it chooses, recording what the loop asked. */
interface PendingAsk {
  readonly text: string;
  readonly history: readonly Turn[];
  readonly signal: AbortSignal;
  finish(outcome?: AskOutcome): void;
}

function harness(tty: boolean) {
  const input = Object.assign(new PassThrough(), { isTTY: tty, setRawMode: () => undefined });
  const output = new PassThrough();
  let screen = '';
  output.on('data', (chunk: Buffer) => {
    screen += chunk.toString();
  });
  const asked: PendingAsk[] = [];
  let arrived: (() => void) | undefined;
  const loop = runPromptLoop({
    input,
    output,
    ask: (text, history, signal) =>
      new Promise<AskOutcome>((resolve) => {
        asked.push({
          text,
          history: [...history],
          signal,
          finish: (outcome = { ok: true, text: `answer to ${text}` }) => resolve(outcome),
        });
        arrived?.();
      }),
  });
  const nextAsk = async (count: number) => {
    while (asked.length < count) await new Promise<void>((resolve) => (arrived = resolve));
    return asked[count - 1]!;
  };
  return { input, loop, asked, nextAsk, screen: () => screen };
}

describe('the npm run ask prompt loop', () => {
  it('answers every piped question, in order with history, even when input ends mid-answer', async () => {
    const h = harness(false);
    h.input.end('first question\nsecond question\n');
    const first = await h.nextAsk(1);
    first.finish();
    const second = await h.nextAsk(2);
    expect(second.history).toEqual([
      { role: 'user', text: 'first question' },
      { role: 'assistant', text: 'answer to first question' },
    ]);
    second.finish();
    await h.loop;
    expect(h.asked.map((a) => a.text)).toEqual(['first question', 'second question']);
    expect(h.screen()).toContain('Bye.');
  });

  it('finishes the answer being written when Ctrl-D ends input, then leaves', async () => {
    const h = harness(true);
    h.input.write('how do I deploy?\r');
    const pending = await h.nextAsk(1);
    h.input.write('\u0004'); // Ctrl-D on an empty line closes the terminal's input
    expect(pending.signal.aborted).toBe(false);
    pending.finish();
    await h.loop;
    expect(h.screen()).toContain('Bye.');
  });

  it('stops the answer on Ctrl-C and returns to the prompt instead of leaving', async () => {
    const h = harness(true);
    h.input.write('a long question\r');
    const pending = await h.nextAsk(1);
    h.input.write('\u0003');
    expect(pending.signal.aborted).toBe(true);
    pending.finish({ ok: false });
    h.input.write('next one\r');
    const next = await h.nextAsk(2);
    expect(next.text).toBe('next one');
    // The stopped answer is not part of the conversation.
    expect(next.history).toEqual([]);
    next.finish();
    h.input.write('exit\r');
    await h.loop;
  });

  it('clears a half-typed line on Ctrl-C, and leaves on a second Ctrl-C at an empty prompt', async () => {
    const h = harness(true);
    h.input.write('half typed');
    h.input.write('\u0003');
    h.input.write('\r'); // the cleared line is empty: nothing is asked
    h.input.write('\u0003');
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.screen()).toContain(LEAVE_HINT);
    h.input.write('\u0003');
    await h.loop;
    expect(h.asked).toHaveLength(0);
  });
});
