/**
 * Answers in flight, as every instance sharing one database sees them: enough to finish an
 * answer elsewhere (where it is asked, the message being written, the question and its asker)
 * and who is writing it, renewed by a heartbeat. Never a secret: a Slack workspace's token is
 * looked up from its installation by whoever finishes the answer.
 */
import type { HandoverData } from '../conversation/conversation.js';

export interface InFlightAnswer {
  readonly questionId: string;
  readonly platform: string;
  /** The workspace or server, when the platform has one. */
  readonly workspaceId?: string;
  /** The conversation's handover data (channel, thread, the question's message, …). */
  readonly place: HandoverData;
  /** The reply's message once it exists (replaced by whoever finishes the answer). */
  readonly reply?: HandoverData;
  readonly question: string;
  readonly askerId: string;
  /** How the question arrived (mention, command, …), kept for the answer records. */
  readonly via?: string;
  /** How many times another instance has taken this answer over. */
  readonly attempts: number;
  /** When the question was first accepted (epoch milliseconds). */
  readonly startedAt: number;
}

export type NewInFlightAnswer = Omit<InFlightAnswer, 'attempts' | 'startedAt' | 'reply'>;

/**
 * Where answers in flight are kept (PostgreSQL with DATABASE_URL). Ownership is a row's
 * `owner`: every change but `claimStale` applies only to the caller's own rows, so an instance
 * that lost an answer to another can no longer touch its record.
 */
export interface InFlightStore {
  /** Records an answer `owner` began. */
  begin(answer: NewInFlightAnswer, owner: string): Promise<void>;
  /** Where the answer's reply is; false when the answer is no longer `owner`'s. */
  located(questionId: string, owner: string, reply: HandoverData): Promise<boolean>;
  /** Renews `owner`'s answers; returns the ids still its own. */
  heartbeat(owner: string, questionIds: readonly string[]): Promise<Set<string>>;
  /**
   * Takes over, atomically, the oldest answer on one of `platforms` whose instance has been
   * silent for `silentMs`: two instances asking at once never get the same one.
   */
  claimStale(
    owner: string,
    platforms: readonly string[],
    silentMs: number,
  ): Promise<InFlightAnswer | undefined>;
  /** The answer ended: its record goes, if still `owner`'s. */
  finish(questionId: string, owner: string): Promise<void>;
  /** `owner` gives the answer up: another instance may take it at once. */
  release(questionId: string, owner: string): Promise<void>;
  /** Forgets records older than `maxAgeMs` that nobody could finish (a platform no longer run). */
  prune(maxAgeMs: number): Promise<number>;
}

/**
 * An answer's record was certainly not written: the database refused the statement, or the
 * connection was never made. Any other failure of `begin` leaves it unknown (the insert may have
 * been sent and committed, its reply lost or timed out), and the answer is treated as possibly
 * recorded until a heartbeat tells.
 */
export class RecordNotWritten extends Error {
  override name = 'RecordNotWritten';
}
