/**
 * Answers given privately (an ephemeral "Ask about this message" reply) that the asker may
 * still share in the message's thread. Neither Slack nor Discord sends an ephemeral message's
 * content back with a button click, so the answer is kept here, in this process, for an hour.
 * A click that reaches another instance, or comes after a restart, gets a friendly "ask
 * again" instead of a share.
 */
import { randomUUID } from 'node:crypto';
import type { Source } from '../core/types.js';

export interface PrivateAnswer<Target> {
  readonly question: string;
  /** The answer text, already neutralised for the platform. */
  readonly text: string;
  readonly sources: readonly Source[];
  readonly askerId: string;
  /** Where a share posts (the platform's thread address). */
  readonly target: Target;
}

export type ShareClaim<Target> =
  | { readonly ok: true; readonly answer: PrivateAnswer<Target> }
  | { readonly ok: false; readonly reason: 'unknown' | 'already_shared' | 'not_asker' };

export interface PrivateAnswersOptions {
  readonly ttlMs?: number;
  /** Kept at most; the oldest go first. */
  readonly capacity?: number;
  readonly now?: () => number;
}

export class PrivateAnswers<Target> {
  private readonly entries = new Map<
    string,
    { answer: PrivateAnswer<Target>; at: number; shared: boolean }
  >();
  private readonly ttlMs: number;
  private readonly capacity: number;
  private readonly now: () => number;

  constructor(options: PrivateAnswersOptions = {}) {
    this.ttlMs = options.ttlMs ?? 60 * 60 * 1000;
    this.capacity = options.capacity ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  /** Keeps an answer; returns the id a Share button carries. */
  remember(answer: PrivateAnswer<Target>): string {
    this.sweep();
    const id = randomUUID();
    this.entries.set(id, { answer, at: this.now(), shared: false });
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    return id;
  }

  /** The answer to share, once, and only for the person who asked. */
  claim(id: string, userId: string): ShareClaim<Target> {
    this.sweep();
    const entry = this.entries.get(id);
    if (!entry) return { ok: false, reason: 'unknown' };
    if (entry.answer.askerId !== userId) return { ok: false, reason: 'not_asker' };
    if (entry.shared) return { ok: false, reason: 'already_shared' };
    entry.shared = true;
    return { ok: true, answer: entry.answer };
  }

  /** Undoes a claim whose share could not be posted, so the asker can try again. */
  release(id: string): void {
    const entry = this.entries.get(id);
    if (entry) entry.shared = false;
  }

  private sweep(): void {
    const cutoff = this.now() - this.ttlMs;
    for (const [id, entry] of this.entries) {
      if (entry.at > cutoff) break; // insertion order is age order
      this.entries.delete(id);
    }
  }
}
