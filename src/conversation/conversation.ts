/**
 * What the conversation layer needs from a front end, in one place: where a conversation is,
 * how the platform shows things, and the primitives to show them. Adapters implement these
 * with their SDK (Slack's Web API, discord.js, a terminal, an HTTP response) and nothing more;
 * everything between the core's events and those primitives lives in this folder, once.
 */
import type { AnswerStage, Asker, Place, Source, Turn } from '../core/types.js';
import type { Neutralizer } from '../render/neutralizer.js';
import type { AttachedFile } from './attachments.js';

/** How one platform shows text: the rules the shared fold must respect there. */
export interface Presenter {
  /** Makes the platform's mention syntax inert in text we did not write. */
  readonly neutralizer: Neutralizer;
  /** Shows text we did not write (a file name) literally: no mentions and no markup. */
  readonly plainText?: (text: string) => string;
  /** Minimum time between two writes into the message being streamed. */
  readonly writeIntervalMs: number;
}

/** What the bot is doing, for a typing indicator or a status line. */
export type WorkingStage = AnswerStage;

/** The end of an answer, everything neutralised. */
export interface FinalReply {
  /** The whole answer text (possibly empty when the answer failed before any text). */
  readonly text: string;
  /** How much of `text` earlier `write` calls carried (append surfaces send the rest). */
  readonly written: number;
  /** Numbered sources the answer cites (all of them when it cites none); empty when no text was written. */
  readonly sources: readonly Source[];
  /** Sources the answer was given but does not cite, for a front end's "Also searched" line. */
  readonly alsoSearched?: readonly Source[];
  /** Set when the user can vote on this answer (the feedback buttons' value). */
  readonly feedbackId?: string;
  /** The failure's user-facing message, shown under any partial text. */
  readonly notice?: string;
}

/**
 * Ids another instance needs to find a conversation or a reply again (a channel, a thread, a
 * message): plain values, never a secret such as a token.
 */
export type HandoverData = Readonly<Record<string, string | boolean>>;

/** The message an answer streams into. */
export interface LiveReply {
  /**
   * `append`: each write carries only new text (Slack's streaming API, a terminal, a web
   * stream). `replace`: each write carries the whole text so far (an edited message).
   */
  readonly writes: 'append' | 'replace';
  /** This reply's pace, when it differs from the presenter's (Slack streams faster than it edits). */
  readonly writeIntervalMs?: number;
  write(text: string): Promise<void>;
  finish(final: FinalReply): Promise<void>;
  /**
   * The message this reply writes into, once the platform has made it, so another instance can
   * replace it if this one dies mid-answer. Absent: nothing to find again (a terminal, a stream).
   */
  location?(): HandoverData | undefined;
  /**
   * Calls `listener` when the reply makes its message other than by a write (a Slack stream
   * opened empty while the first text is slow), so where it is gets recorded at once.
   */
  onLocated?(listener: () => void): void;
}

export interface Conversation {
  /** Where: platform, channel, thread. Used for logs, metrics, limits and allowlists. */
  readonly place: Place;
  readonly asker: Asker;
  readonly presenter: Presenter;
  /** The conversation so far, oldest first, from the platform's own messages. */
  history(): Promise<Turn[]>;
  /**
   * Opens the reply. Called as soon as a question is accepted, so a platform that must create
   * a message first (Slack) does it while the core retrieves; others may open lazily.
   */
  openReply(): Promise<LiveReply>;
  /** Shows that the bot is working (typing indicator, assistant status). Best effort. */
  showWorking?(stage: WorkingStage): Promise<void>;
  /**
   * The answer's sources as soon as the core has them, before its text. For a surface whose
   * reader can stop the answer and stop reading (a browser tab's Stop): it keeps them, to show
   * beside whatever text arrived. Others get them at the end, in `finish`.
   */
  sourcesFound?(sources: readonly Source[]): void;
  /** A short message that is not an answer (a refusal, a hint); private where the platform can. */
  notify(text: string): Promise<void>;
  /**
   * Files attached to the question and earlier in its thread, newest question's first. Read
   * for this answer only; the platform's descriptions, fetched when the layer asks.
   */
  attachments?(): Promise<readonly AttachedFile[]>;
  /** A link to this conversation for the answer records, where the platform gives one. */
  permalink?(): Promise<string | undefined>;
  /**
   * Who can see this conversation, as the platform says when the question is answered (kept in
   * the answer records, so a digest shows a question only where its audience could see it).
   * Absent: nobody is assumed to, beyond the people in it.
   */
  audience?(): Promise<Audience>;
  /**
   * What another instance needs to finish an answer here if this one dies (DATABASE_URL): the
   * platform's ids for the place and the question, never a secret. Absent where no other process
   * could write here (the web chat's HTTP response, the terminal, a private reply).
   */
  handover?(): HandoverData | undefined;
}

/**
 * `everyone`: every member of the workspace or server can read the conversation (a public
 * channel that is not shared from another organisation; on Discord, visible to @everyone).
 * `restricted`: anything else (a private channel, a DM, a shared channel, a private thread).
 */
export type Audience = 'everyone' | 'restricted';
