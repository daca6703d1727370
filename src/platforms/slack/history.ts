/**
 * Conversation memory from Slack itself: a thread's replies (or a DM's recent messages)
 * become the history the core condenses follow-ups with. The bot marks the question
 * messages it posts for /ask with metadata so they read back as the user's turn.
 */
import type { webApi } from '@slack/bolt';
import type { Turn } from '../../core/types.js';
import { slackNeutralizer } from '../../render/slack-text.js';
import { filesOf, type SlackFile } from './files.js';
import { stripBotMention } from './format.js';
import { threadTail } from './thread-pages.js';

export const QUESTION_EVENT = 'rag_question';
export const ANSWER_EVENT = 'rag_answer';
/** Turns handed to the core; it trims further to its token budget. */
const MAX_TURNS = 20;
/** A thread's newest messages kept: the turns and the files shared in it come from these (and its first). */
const THREAD_WINDOW = 200;
/** Messages asked for per conversations.replies page. */
const PAGE = 100;
const USER_TURN_SUBTYPES = new Set(['file_share', 'thread_broadcast']);
/** conversations.replies calls for one question's thread, at most (the method is rate-limited). */
const MAX_CALLS = 3;

interface SlackMessage {
  ts?: string;
  text?: string;
  user?: string;
  bot_id?: string;
  subtype?: string;
  files?: unknown[];
  reply_count?: number;
  reply_users?: string[];
  latest_reply?: string;
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
}

export interface BotIdentity {
  readonly userId: string;
  readonly botId?: string;
}

const fromBot = (message: SlackMessage, bot: BotIdentity) =>
  message.user === bot.userId || (bot.botId !== undefined && message.bot_id === bot.botId);

function toTurn(message: SlackMessage, bot: BotIdentity): Turn | undefined {
  if (fromBot(message, bot)) {
    const question =
      message.metadata?.event_type === QUESTION_EVENT ? message.metadata.event_payload?.question : undefined;
    if (typeof question === 'string') return { role: 'user', text: question };
    if (message.metadata?.event_type !== ANSWER_EVENT) return undefined; // placeholders, errors, notices
    // The model reads its earlier answer as it wrote it, not as neutralised for Slack.
    return message.text ? { role: 'assistant', text: slackNeutralizer.restore(message.text) } : undefined;
  }
  // Other bots, joins, edits; a message sharing a file, or a reply also sent to the channel
  // (thread_broadcast), is a user's turn like any other.
  if (message.bot_id || (message.subtype && !USER_TURN_SUBTYPES.has(message.subtype))) return undefined;
  const text = stripBotMention(message.text ?? '', bot.userId);
  return text ? { role: 'user', text } : undefined;
}

export interface ThreadContext {
  /** Whether the bot has taken part in the thread (so follow-ups need no mention). */
  readonly botParticipates: boolean;
  readonly history: Turn[];
  /** Files people shared earlier in the thread, newest first. */
  readonly files: SlackFile[];
  /** Files shared with the question itself (the message `currentTs`). */
  readonly questionFiles: SlackFile[];
}

export async function threadContext(
  client: webApi.WebClient,
  channel: string,
  rootTs: string,
  currentTs: string,
  bot: BotIdentity,
): Promise<ThreadContext> {
  // Up to the question: in a long thread, its newest replies (Slack reads threads oldest first).
  const { parent, replies, older } = await threadTail<SlackMessage>(client, {
    channel,
    ts: rootTs,
    limit: PAGE,
    maxPages: MAX_CALLS,
    // Notices, placeholders and other bots' messages are no turns: read twice the turns kept.
    wanted: 2 * MAX_TURNS,
    includeMetadata: true,
    ...(currentTs ? { latest: currentTs } : {}),
  });
  const recent = replies.slice(-THREAD_WINDOW);
  const botParticipates =
    [parent, ...older, ...replies].some((message) => message !== undefined && fromBot(message, bot)) ||
    (parent?.reply_users ?? []).includes(bot.userId);
  // The thread's first message says what it is about, however long it has grown.
  const messages = [...(parent ? [parent] : []), ...recent];
  const turns = (list: SlackMessage[]) =>
    list
      .filter((message) => message.ts !== currentTs)
      .map((message) => toTurn(message, bot))
      .filter((turn): turn is Turn => turn !== undefined);
  const opening = parent ? turns([parent]) : [];
  const history = [...opening, ...turns(recent).slice(-(MAX_TURNS - opening.length))];
  const earlier = messages.filter(
    (message) => message.ts !== currentTs && !message.bot_id && !fromBot(message, bot),
  );
  return {
    botParticipates,
    history,
    files: earlier.reverse().flatMap((message) => filesOf(message)),
    questionFiles: messages
      .filter((message) => message.ts === currentTs)
      .flatMap((message) => filesOf(message)),
  };
}

export async function directMessageHistory(
  client: webApi.WebClient,
  channel: string,
  currentTs: string,
  bot: BotIdentity,
): Promise<Turn[]> {
  const recent = await client.conversations.history({ channel, limit: 30, include_all_metadata: true });
  return ((recent.messages ?? []) as SlackMessage[])
    .filter((message) => message.ts !== currentTs)
    .reverse()
    .map((message) => toTurn(message, bot))
    .filter((turn): turn is Turn => turn !== undefined)
    .slice(-MAX_TURNS);
}
