/**
 * Reading and validating what the page sends: a size-limited JSON body, then the question
 * with the tab's own history (roles, count and sizes checked), or a feedback vote.
 */
import type { IncomingMessage } from 'node:http';
import * as v from 'valibot';
import type { Turn } from '../core/types.js';
import { expected, jsonObject } from '../validation.js';
import type { WebChatLimits } from './options.js';

/** A request the page should never send; `status` and `message` go back to it as is. */
export class BadRequest extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
    this.name = 'BadRequest';
  }
}

/** Reads a JSON body, refusing it as soon as it exceeds `maxBytes` (the rest is never buffered). */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  // Requiring JSON also means a cross-site form cannot post here without a CORS preflight.
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new BadRequest(415, 'Send the request as application/json.');
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw new BadRequest(413, `The request is larger than ${maxBytes.toLocaleString('en-US')} bytes.`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.resume();
      throw new BadRequest(413, `The request is larger than ${maxBytes.toLocaleString('en-US')} bytes.`);
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BadRequest(400, 'The request is not valid JSON.');
  }
}

/** A tab's random id: names the conversation in logs and the per-channel limit. */
const TAB_ID = /^[A-Za-z0-9_-]{8,64}$/;
/** Question ids are the server's UUIDs; anything else is not ours. */
const QUESTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface ChatRequest {
  readonly question: string;
  readonly history: readonly Turn[];
  readonly tabId?: string;
}

export interface FeedbackRequest {
  readonly questionId: string;
  readonly vote: 'up' | 'down';
  readonly tabId?: string;
}

function firstProblem(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0];
  const path = issue ? v.getDotPath(issue) : null;
  return `${path ? `${path}: ` : ''}${issue?.message ?? 'invalid request'}`;
}

/** An optional tab id: the page sends one per browser tab. */
const tabId = v.optional(
  v.pipe(v.string(expected('string')), v.regex(TAB_ID, 'must be 8-64 letters, digits, _ or -')),
);

export function parseChatRequest(body: unknown, limits: WebChatLimits): ChatRequest {
  const turn = jsonObject(
    v.object({
      role: v.picklist(['user', 'assistant'], 'must be "user" or "assistant"'),
      text: v.pipe(
        v.string('must be text'),
        v.maxLength(limits.maxTurnChars, `must be at most ${limits.maxTurnChars} characters`),
      ),
    }),
  );
  const schema = jsonObject(
    v.object({
      // Its length is the core's to judge (RAG_MAX_QUESTION_CHARS), with its own friendly message.
      question: v.string('must be text'),
      // The number of turns is checked before any turn is read.
      history: v.optional(
        v.pipe(
          v.array(v.unknown(), 'must be a list of turns'),
          v.maxLength(limits.maxHistoryTurns, `may hold at most ${limits.maxHistoryTurns} turns`),
          v.array(turn),
        ),
        () => [],
      ),
      tabId,
    }),
  );
  const result = v.safeParse(schema, body);
  if (!result.success) throw new BadRequest(400, `Invalid question: ${firstProblem(result.issues)}`);
  return result.output;
}

const feedbackRequest = jsonObject(
  v.object({
    questionId: v.pipe(v.string(expected('string')), v.regex(QUESTION_ID, 'must be the id of an answer')),
    vote: v.picklist(['up', 'down'], 'must be "up" or "down"'),
    tabId,
  }),
);

export function parseFeedbackRequest(body: unknown): FeedbackRequest {
  const result = v.safeParse(feedbackRequest, body);
  if (!result.success) throw new BadRequest(400, `Invalid feedback: ${firstProblem(result.issues)}`);
  return result.output;
}
