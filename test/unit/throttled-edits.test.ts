import { describe, expect, it } from 'vitest';
import { type EditClock, ThrottledEditor } from '../../src/render/throttled-edits.js';

/** A clock that moves only when the test says so; timers run in due order. */
class ManualClock implements EditClock {
  private time = 0;
  private timers: { due: number; run: () => void; cancelled: boolean }[] = [];

  now(): number {
    return this.time;
  }

  after(ms: number, run: () => void): () => void {
    const timer = { due: this.time + ms, run, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Timers still waiting to fire. */
  get waiting(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await settleMicrotasks();
      const next = this.timers.filter((t) => !t.cancelled && t.due <= end).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.time = next.due;
      next.cancelled = true;
      next.run();
    }
    this.time = end;
    await settleMicrotasks();
  }
}

const settleMicrotasks = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('streaming an answer through throttled message edits', () => {
  it('sends at most one edit per interval, always the newest text, and the final text on flush', async () => {
    const clock = new ManualClock();
    const edits: { tick: number; text: string }[] = [];
    const editor = new ThrottledEditor(
      async (text) => {
        edits.push({ tick: clock.now(), text });
      },
      { intervalMs: 1000, clock },
    );
    let text = '';
    for (let i = 0; i < 50; i++) {
      text += `word${i} `;
      editor.update(text);
      await clock.advance(100); // a token every 100 ms for 5 s
    }
    const final = `${text}done`;
    editor.update(final);
    await editor.flush();

    expect(edits.at(-1)!.text).toBe(final);
    // Streaming edits are spaced by the interval; each carries the newest text at that time.
    for (let i = 1; i < edits.length - 1; i++)
      // On the injected clock: no real time passes in this test.
      expect(edits[i]!.tick - edits[i - 1]!.tick).toBeGreaterThanOrEqual(1000);
    // 5 s of streaming at one edit per second, plus the final one: about 6, never 50.
    expect(edits.length).toBeLessThanOrEqual(7);
    expect(editor.editCount).toBe(edits.length);
  });

  it('finishes at once when the text is final, without waiting out the interval', async () => {
    const clock = new ManualClock();
    const edits: string[] = [];
    const editor = new ThrottledEditor(
      async (text) => {
        edits.push(text);
      },
      { intervalMs: 60_000, clock },
    );
    editor.update('partial');
    await clock.advance(0);
    editor.update('partial and more');
    expect(clock.waiting).toBe(1); // the next edit waits for the interval…
    await editor.flush(); // …but the last one does not: the clock never moved
    expect(clock.now()).toBe(0);
    expect(edits).toEqual(['partial', 'partial and more']);
    expect(clock.waiting).toBe(0);
  });

  it('settles for a final write by the caller: waits for the edit under way, never for the clock', async () => {
    const clock = new ManualClock();
    const order: string[] = [];
    let release: () => void = () => undefined;
    const editor = new ThrottledEditor(
      (text) => {
        order.push(`start ${text}`);
        return new Promise<void>((resolve) => {
          release = () => {
            order.push(`end ${text}`);
            resolve();
          };
        });
      },
      { intervalMs: 1000, clock },
    );
    editor.update('a');
    editor.update('ab'); // coalesced behind the edit under way
    const settled = editor.settle().then(() => order.push('settled'));
    await settleMicrotasks();
    expect(order).toEqual(['start a']);
    release();
    await settled;
    order.push('final write');
    await clock.advance(5000);
    expect(order).toEqual(['start a', 'end a', 'settled', 'final write']);
    expect(clock.now()).toBe(5000);
  });

  it('never overlaps edits when the platform is slow to answer', async () => {
    const clock = new ManualClock();
    let active = 0;
    let maxActive = 0;
    const pending: (() => void)[] = [];
    const editor = new ThrottledEditor(
      async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await new Promise<void>((resolve) => pending.push(resolve));
        active -= 1;
      },
      { intervalMs: 500, clock },
    );
    for (let i = 0; i < 20; i++) {
      editor.update(`text ${i}`);
      await clock.advance(300);
      if (i % 8 === 7) pending.shift()?.(); // the platform answers now and then
    }
    let done = false;
    const flushed = editor.flush().then(() => {
      done = true;
    });
    while (!done) {
      pending.shift()?.();
      await settleMicrotasks();
    }
    await flushed;
    expect(maxActive).toBe(1);
    expect(editor.editCount).toBeLessThan(20);
  });

  it('reports an edit failure from flush so the caller can fall back', async () => {
    const clock = new ManualClock();
    const editor = new ThrottledEditor(
      async () => {
        throw new Error('Unknown Message');
      },
      { intervalMs: 100, clock },
    );
    editor.update('partial');
    await clock.advance(50);
    editor.update('partial and more');
    await expect(editor.flush()).rejects.toThrow('Unknown Message');
  });

  it('sends nothing after cancel', async () => {
    const clock = new ManualClock();
    const edits: string[] = [];
    const editor = new ThrottledEditor(
      async (text) => {
        edits.push(text);
      },
      { intervalMs: 1000, clock },
    );
    editor.update('a');
    editor.update('ab');
    editor.cancel();
    editor.update('abc');
    await clock.advance(5000);
    expect(edits).toEqual(['a']);
  });
});
