/**
 * Wraps an Answerer so shutdown can be graceful: once draining starts, new questions get
 * the "restarting" message; answers in flight may finish within a deadline, after which
 * they are aborted and the core reports them to their users as interrupted. A question is in
 * flight from its admission on (`admit`), so the work before its answer (reading its files)
 * is waited for, and interrupted, like the answer itself.
 */
import { failures } from '../core/failures.js';
import type { Admission, AdmissionTicket, AnswerEvent, Answerer, Question, Turn } from '../core/types.js';

export class DrainingAnswerer implements Answerer {
  private readonly inFlight = new Set<AbortController>();
  /** Admitted questions, by the ticket their answer will carry: their controller, and the inner guards' ticket. */
  private readonly admitted = new WeakMap<
    AdmissionTicket,
    { readonly controller: AbortController; readonly inner?: AdmissionTicket }
  >();
  private draining = false;
  private idle: (() => void) | undefined;

  constructor(private readonly inner: Answerer) {}

  get activeAnswers(): number {
    return this.inFlight.size;
  }

  async admit(question: Question): Promise<Admission> {
    if (this.draining) return { ok: false, failure: failures.shuttingDown() };
    const controller = new AbortController();
    this.inFlight.add(controller);
    const signal = question.signal
      ? AbortSignal.any([question.signal, controller.signal])
      : controller.signal;
    const inner = this.inner.admit ? await this.inner.admit({ ...question, signal }) : undefined;
    if (inner && !inner.ok) {
      this.leave(controller);
      return inner;
    }
    let released = false;
    const ticket: AdmissionTicket = {
      signal,
      release: () => {
        if (released) return;
        released = true;
        inner?.ticket.release();
        this.leave(controller);
      },
    };
    this.admitted.set(ticket, { controller, ...(inner ? { inner: inner.ticket } : {}) });
    return { ok: true, ticket };
  }

  private leave(controller: AbortController): void {
    this.inFlight.delete(controller);
    if (this.inFlight.size === 0) this.idle?.();
  }

  async *answer(question: Question, history: readonly Turn[] = []): AsyncGenerator<AnswerEvent> {
    const admitted = question.admission ? this.admitted.get(question.admission) : undefined;
    if (admitted) {
      // In flight since its admission (its ticket's release ends that); the inner guards get their own ticket.
      const { admission: _mine, ...rest } = question;
      const signal = question.signal
        ? AbortSignal.any([question.signal, admitted.controller.signal])
        : admitted.controller.signal;
      yield* this.inner.answer(
        { ...rest, signal, ...(admitted.inner ? { admission: admitted.inner } : {}) },
        history,
      );
      return;
    }
    if (this.draining) {
      yield { type: 'failure', failure: failures.shuttingDown() };
      return;
    }
    const controller = new AbortController();
    const signal = question.signal
      ? AbortSignal.any([question.signal, controller.signal])
      : controller.signal;
    this.inFlight.add(controller);
    try {
      yield* this.inner.answer({ ...question, signal }, history);
    } finally {
      this.inFlight.delete(controller);
      if (this.inFlight.size === 0) this.idle?.();
    }
  }

  /** Refuses new questions, waits up to `graceMs` for answers in flight, then interrupts the rest. */
  async drain(graceMs: number): Promise<{ finished: boolean; interrupted: number }> {
    this.draining = true;
    if (this.inFlight.size === 0) return { finished: true, interrupted: 0 };
    const allDone = new Promise<void>((resolve) => {
      this.idle = resolve;
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      allDone.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (!timedOut) return { finished: true, interrupted: 0 };
    const interrupted = this.inFlight.size;
    for (const controller of this.inFlight) controller.abort(new Error('shutting down'));
    // Give the adapters a moment to post the "interrupted" messages.
    await Promise.race([allDone, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    return { finished: false, interrupted };
  }
}
