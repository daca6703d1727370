/**
 * The seam through which every answered question leaves a record: the fold in answer.ts
 * reports each answer's outcome here once, and the layer reports votes and hand-offs, for
 * every front end alike. What is kept, and where, is the recorder's business (src/records).
 */
import type { FailureKind } from '../core/failures.js';
import type { AnswerMode, Asker, Place, Source, StageTimings } from '../core/types.js';
import type { Audience } from './conversation.js';

/** How an answer ended: answered, a failure's kind, or a reply that could not be delivered. */
export type AnswerOutcomeKind = 'answered' | FailureKind | 'undelivered';

export interface AnswerSummary {
  readonly questionId: string;
  /** When the question was received (epoch milliseconds). */
  readonly askedAt: number;
  readonly place: Place;
  readonly asker: Asker;
  readonly question: string;
  /** The standalone question the core retrieved with, when it got that far. */
  readonly standaloneQuestion?: string;
  /** How the question arrived (command, mention, follow-up, dm, web…). */
  readonly via?: string;
  readonly outcome: AnswerOutcomeKind;
  readonly mode?: AnswerMode;
  readonly degraded: boolean;
  readonly sources: readonly Source[];
  readonly timings: Partial<StageTimings>;
  /** A link to the conversation, when the platform gives one (asked after the answer). */
  readonly link?: () => Promise<string | undefined>;
  /** Who can see the conversation (asked after the answer); unknown counts as restricted. */
  readonly audience?: () => Promise<Audience>;
}

export interface FeedbackRecord {
  readonly place: Place;
  readonly questionId: string;
  readonly userId: string;
  readonly vote: 'up' | 'down';
  /** The optional one-line reason given with a 👎. */
  readonly reason?: string;
}

export interface EscalationRecord {
  readonly place: Place;
  readonly questionId: string;
  readonly userId: string;
}

/** Keeps what happened to answers. Implementations never throw: recording never breaks answering. */
export interface AnswerRecorder {
  answered(summary: AnswerSummary): void;
  feedback(record: FeedbackRecord): void;
  escalated(record: EscalationRecord): void;
}
