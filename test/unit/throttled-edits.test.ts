import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ThrottledEditor } from '../../src/render/throttled-edits.js';

describe('streaming an answer through throttled message edits', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends at most one edit per interval, always the newest text, and the final text on flush', async () => {
    const edits: { at: number; text: string }[] = [];
    const editor = new ThrottledEditor(
      async (text) => {
        edits.push({ at: Date.now(), text });
      },
      { intervalMs: 1000 },
    );
    let text = '';
    for (let i = 0; i < 50; i++) {
      text += `word${i} `;
      editor.update(text);
      await vi.advanceTimersByTimeAsync(100); // a token every 100 ms for 5 s
    }
    const final = `${text}done`;
    editor.update(final);
    const flushed = editor.flush();
    await vi.advanceTimersByTimeAsync(1000);
    await flushed;

    expect(edits.at(-1)!.text).toBe(final);
    for (let i = 1; i < edits.length; i++)
      expect(edits[i]!.at - edits[i - 1]!.at).toBeGreaterThanOrEqual(1000);
    // 5 s of streaming at one edit per second, plus the final one: about 6, never 50.
    expect(edits.length).toBeLessThanOrEqual(7);
    expect(editor.editCount).toBe(edits.length);
  });

  it('never overlaps edits when the platform is slow to answer', async () => {
    let active = 0;
    let maxActive = 0;
    const editor = new ThrottledEditor(
      async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await new Promise((resolve) => setTimeout(resolve, 2500));
        active -= 1;
      },
      { intervalMs: 500 },
    );
    for (let i = 0; i < 20; i++) {
      editor.update(`text ${i}`);
      await vi.advanceTimersByTimeAsync(300);
    }
    const flushed = editor.flush();
    await vi.advanceTimersByTimeAsync(10_000);
    await flushed;
    expect(maxActive).toBe(1);
  });

  it('reports an edit failure from flush so the caller can fall back', async () => {
    const editor = new ThrottledEditor(
      async () => {
        throw new Error('Unknown Message');
      },
      { intervalMs: 100 },
    );
    editor.update('partial');
    await vi.advanceTimersByTimeAsync(50);
    editor.update('partial and more');
    await expect(editor.flush()).rejects.toThrow('Unknown Message');
  });

  it('settles before a final edit by the caller, keeping the interval', async () => {
    const starts: number[] = [];
    const editor = new ThrottledEditor(
      async () => {
        starts.push(Date.now());
      },
      { intervalMs: 1000 },
    );
    editor.update('partial');
    await vi.advanceTimersByTimeAsync(10);
    editor.update('partial and more');
    const settled = editor.settle();
    await vi.advanceTimersByTimeAsync(1000);
    await settled;
    starts.push(Date.now()); // the caller's own final edit
    expect(starts).toHaveLength(2);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(1000);
  });

  it('sends nothing after cancel', async () => {
    const edit = vi.fn(async () => {});
    const editor = new ThrottledEditor(edit, { intervalMs: 1000 });
    editor.update('a');
    editor.cancel();
    await vi.advanceTimersByTimeAsync(5000);
    expect(edit).not.toHaveBeenCalled();
  });
});
