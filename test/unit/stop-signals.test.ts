import { describe, expect, it } from 'vitest';
import { handleStopSignals } from '../../src/app/stop-signals.js';

function recorder() {
  let clock = 0;
  const calls: string[] = [];
  const handle = handleStopSignals({
    onStop: (signal) => calls.push(`stop ${signal}`),
    onInsist: (signal) => calls.push(`insist ${signal}`),
    duplicateWindowMs: 1_000,
    now: () => clock,
  });
  return { calls, handle, advance: (ms: number) => (clock += ms) };
}

describe('stop signals', () => {
  it('stops gracefully once when a process group signal arrives twice (kernel + npm forwarding)', () => {
    const r = recorder();
    r.handle('SIGTERM');
    r.advance(5);
    r.handle('SIGTERM');
    expect(r.calls).toEqual(['stop SIGTERM']);
  });

  it('stops at once when the operator signals again later', () => {
    const r = recorder();
    r.handle('SIGINT');
    r.advance(3_000);
    r.handle('SIGINT');
    expect(r.calls).toEqual(['stop SIGINT', 'insist SIGINT']);
  });
});
