/**
 * The contract between the RAG core, its back ends (retrievers, generators) and the
 * front ends (terminal, Slack, Discord). Nothing here knows about any platform or vendor.
 */
import type { Failure } from './failures.js';

/**
 * Where a question came from ("slack", "discord", "web", "terminal", …); used for logs,
 * metrics, limits and routing, never for prompting. Open-ended: a new front end needs no
 * change here.
 */
export type PlatformName = string;

export interface Asker {
  readonly id: string;
  readonly name?: string;
}

export interface Place {
  readonly platform: PlatformName;
  /** Channel, DM or terminal session id. */
  readonly channelId?: string;
  /** Thread the conversation lives in, when the platform has one. */
  readonly threadId?: string;
  /** The channel a thread hangs off, where it differs from `channelId`. */
  readonly parentId?: string;
  /** Workspace, server or site the channel belongs to. */
  readonly workspaceId?: string;
  /** A direct conversation with the bot (a DM, the terminal, a web chat tab). */
  readonly direct?: boolean;
}

export interface Question {
  /** Correlates logs from the platform event through retrieval and the model call. */
  readonly id: string;
  readonly text: string;
  readonly asker?: Asker;
  readonly place: Place;
  /** Aborting stops the answer; the stream then ends with an `interrupted` failure. */
  readonly signal?: AbortSignal;
  /**
   * Passages the asker brought: files attached to the question or its thread, or the message
   * they asked about and its thread (marked `pointedAt` in their metadata). Context for this
   * answer only (never stored), placed before the retrieved passages and cited by name.
   */
  readonly attachments?: readonly Passage[];
  /**
   * The knowledge collections this question may read, resolved from its place by whoever
   * built the question; absent means the store's default collection.
   */
  readonly collections?: readonly string[];
  /**
   * The answerer's guards already let this question in (`Answerer.admit`): they hold its place
   * and do not check it again.
   */
  readonly admission?: AdmissionTicket;
}

/** Proof that the guards admitted a question; released once its answer has ended. */
export interface AdmissionTicket {
  /** Aborted when the answer must stop (shutting down): work done before answering stops with it. */
  readonly signal?: AbortSignal;
  release(): void;
}

/** What an answerer's guards decided about a question before any costly work for it. */
export type Admission =
  | { readonly ok: true; readonly ticket: AdmissionTicket }
  | { readonly ok: false; readonly failure: Failure };

/** One earlier message of the conversation, oldest first. */
export interface Turn {
  readonly role: 'user' | 'assistant';
  readonly text: string;
}

/** A retrieved passage with everything a citation needs. */
export interface Passage {
  /** Stable chunk id (see ingestion). */
  readonly id: string;
  readonly text: string;
  /** Similarity as reported by the store; higher is better, comparable only within one store. */
  readonly score: number;
  /** Path or identifier of the document the passage came from. */
  readonly source: string;
  readonly title?: string;
  readonly url?: string;
  /** Remaining metadata kept beside the passage (e.g. a food record's fields). */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** One passage of a source: the section of the document it came from. */
export interface SourcePassage {
  readonly passageId: string;
  /** The heading path of the passage within its document. */
  readonly section?: string;
  /** A web address of the section itself (the document's URL with its anchor). */
  readonly url?: string;
  readonly snippet: string;
}

/**
 * A document as shown to the user: numbered 1..n in the order the model saw them, one number
 * for all the passages of one document (see sources.ts).
 */
export interface Source {
  readonly index: number;
  /** The first (best) passage's id. */
  readonly passageId: string;
  readonly source: string;
  readonly title: string;
  readonly url?: string;
  /** Where the document lives, for display: its web address or its path relative to the folder ingested. */
  readonly location?: string;
  readonly score: number;
  /** Short excerpt (of the first passage) for front ends that show one. */
  readonly snippet: string;
  /** Every passage of the document the answer was given, best first (absent: the one passage). */
  readonly passages?: readonly SourcePassage[];
}

export interface TokenUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
}

/** Milliseconds spent in each stage of one answer. */
export interface StageTimings {
  readonly condenseMs: number;
  readonly retrievalMs: number;
  /** From the start of the answer to the first text delta. */
  readonly firstTokenMs: number;
  readonly totalMs: number;
}

export type AnswerMode = 'groq' | 'extractive';

/**
 * `waiting`: the model has not started writing yet; repeated every few seconds while it stalls,
 * so front ends can show the answer is still coming (it ends in an offline answer if the model
 * never starts).
 */
export type AnswerStage = 'condensing' | 'retrieving' | 'generating' | 'waiting';

/**
 * What `answer()` streams. Every stream ends with exactly one `done` or one `failure`.
 * `sources` (when any passage is used) comes before the first `delta`.
 */
export type AnswerEvent =
  | { readonly type: 'status'; readonly stage: AnswerStage }
  | { readonly type: 'sources'; readonly sources: readonly Source[] }
  | { readonly type: 'delta'; readonly text: string }
  | {
      readonly type: 'done';
      /** The whole answer text, equal to the concatenated deltas. */
      readonly text: string;
      readonly mode: AnswerMode;
      /** True when Groq was unavailable and the extractive answer stood in. */
      readonly degraded: boolean;
      readonly usage?: TokenUsage;
      readonly timings: StageTimings;
      /** The standalone question used for retrieval (differs from the asked text for follow-ups). */
      readonly standaloneQuestion: string;
    }
  | { readonly type: 'failure'; readonly failure: Failure; readonly timings?: Partial<StageTimings> };

/** Anything that answers questions: the core itself, or the core wrapped with limits and metrics. */
export interface Answerer {
  answer(question: Question, history?: readonly Turn[]): AsyncIterable<AnswerEvent>;
  /**
   * Runs the guards (shutdown, rate limits, the concurrency cap and its queue) for `question`
   * now, before work its answer needs (downloading and parsing its files), and holds its place
   * until the ticket is released; `answer` then skips them for a question carrying the ticket.
   * An answerer without guards has no `admit`.
   */
  admit?(question: Question): Promise<Admission>;
}

export interface SearchOptions {
  readonly topK: number;
  readonly signal?: AbortSignal;
  /** Only passages of these collections; absent means the default collection. */
  readonly collections?: readonly string[];
}

/** The collection every chunk belongs to unless it is given another. */
export const DEFAULT_COLLECTION = 'default';

/** Read side of a knowledge store. Implementations throw `RagError` on failure. */
export interface Retriever {
  /** Human-readable description for logs and `doctor`, e.g. "upstash (namespace docs)". */
  readonly description: string;
  /**
   * Passages scoring below this are treated as irrelevant unless RAG_MIN_SCORE overrides it;
   * each store scores on its own scale, so each store knows its own sensible floor.
   */
  readonly defaultMinScore: number;
  search(query: string, options: SearchOptions): Promise<Passage[]>;
}

/** A unit of ingested text with its metadata, ready to upsert. */
export interface Chunk {
  /** Stable id derived from source and content (see ingestion): re-ingesting is idempotent. */
  readonly id: string;
  readonly text: string;
  readonly source: string;
  readonly title?: string;
  readonly url?: string;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface StoreStats {
  readonly vectorCount: number;
  readonly dimension?: number;
  readonly embeddingModel?: string;
}

/**
 * Write side of a knowledge store, used by ingestion. Writes, listing, reset and stats apply
 * to one collection (the default one unless the store came from `collection(name)`).
 */
export interface KnowledgeStore extends Retriever {
  upsert(chunks: readonly Chunk[]): Promise<void>;
  delete(ids: readonly string[]): Promise<void>;
  /** Every chunk id in the collection with its `source`, for idempotence and pruning. */
  listIds(): Promise<Map<string, string>>;
  reset(): Promise<void>;
  stats(): Promise<StoreStats>;
}

/** A store whose passages are grouped in named collections, each searchable on its own. */
export interface CollectionStore extends KnowledgeStore {
  /** The same store writing into (and counting) collection `name`; searches are unchanged. */
  collection(name: string): CollectionStore;
  /** The collections holding passages, with their passage counts. */
  collections(): Promise<Map<string, number>>;
}

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

export type GenerationPurpose = 'answer' | 'condense';

export interface GenerationRequest {
  readonly purpose: GenerationPurpose;
  /** Role-based messages for chat models. */
  readonly messages: readonly ChatMessage[];
  /** The question and passages in structured form, for generators that do not read prompts. */
  readonly question: string;
  readonly passages: readonly Passage[];
  /**
   * Ids of the passages that decide the answer (those over the relevance floor, and files given
   * with the question). A model reads every passage and judges; an answer written without one
   * quotes only these, so it does not lead with a passage that merely shares a word with the
   * question.
   */
  readonly deciding?: ReadonlySet<string>;
  readonly history: readonly Turn[];
  readonly maxTokens?: number;
  readonly temperature?: number;
  readonly signal?: AbortSignal;
  /** Correlation id for logs. */
  readonly questionId?: string;
}

export type GenerationChunk =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'usage'; readonly usage: TokenUsage };

/**
 * Produces answer text. Throws `RagError` before the first chunk for failures
 * (misconfigured, rate_limited, unavailable, timeout); a failure after text has
 * been yielded is thrown as `RagError` of kind `interrupted`.
 */
export interface Generator {
  readonly mode: AnswerMode;
  /** Model name for logs and `doctor`. */
  readonly model: string;
  generate(request: GenerationRequest): AsyncIterable<GenerationChunk>;
}
