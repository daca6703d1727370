/**
 * "Ask about this message": the message the asker pointed at, and the thread it sits in, as
 * passages of the answer, cited like attached files ("The message you asked about"). The core
 * answers from them when they cover the question, even when the knowledge base has nothing
 * (src/core/rag-core.ts); they are read for this answer only and never stored.
 */
import { createHash } from 'node:crypto';
import type { Passage, Turn } from '../core/types.js';
import { safeCut } from '../render/split-markdown.js';
import { strings } from './strings.js';

/** Of the message itself: a long message is still one passage. */
const MAX_MESSAGE_CHARS = 4_000;
/** Of the rest of its thread, newest messages kept when it is longer. */
const MAX_THREAD_CHARS = 6_000;

export interface PointedMessage {
  /** The message's text as the platform gave it (mentions already made plain by the adapter). */
  readonly text: string;
  /** The platform's id of the message, so its passage id is stable. */
  readonly id: string;
  /** The other messages of its thread, oldest first (the message itself may be among them). */
  readonly thread?: readonly Turn[];
}

function passage(id: string, title: string, text: string): Passage {
  const digest = createHash('sha256').update(`${id}\u0000${text}`).digest('hex').slice(0, 16);
  return {
    id: `pointed-${digest}`,
    text,
    score: 1,
    source: title,
    title,
    metadata: { pointedAt: true },
  };
}

/** The thread's other messages as lines, newest kept when they are too long together. */
function threadText(turns: readonly Turn[], own: string): string {
  const lines: string[] = [];
  let length = 0;
  for (let i = turns.length - 1; i >= 0; i--) {
    const turn = turns[i]!;
    const text = turn.text.trim();
    if (!text || text === own) continue;
    const line = `${turn.role === 'assistant' ? strings.pointedBot : strings.pointedPerson}: ${text}`;
    if (length + line.length + 1 > MAX_THREAD_CHARS) break;
    lines.unshift(line);
    length += line.length + 1;
  }
  return lines.join('\n');
}

/** The message, and its thread when it has one, as passages. */
export function pointedPassages(message: PointedMessage): Passage[] {
  const own = message.text.trim();
  const out: Passage[] = [];
  if (own)
    out.push(passage(message.id, strings.pointedMessage, own.slice(0, safeCut(own, MAX_MESSAGE_CHARS))));
  const thread = threadText(message.thread ?? [], own);
  if (thread) out.push(passage(`${message.id}:thread`, strings.pointedThread, thread));
  return out;
}
