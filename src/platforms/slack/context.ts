/** What every Slack handler needs: the shared conversation layer and this app's settings. */
import type { webApi } from '@slack/bolt';
import type { Config } from '../../config.js';
import type { ConversationLayer } from '../../conversation/layer.js';
import type { Turn } from '../../core/types.js';
import type { Logger } from '../../log.js';
import type { ThreadSaver } from '../../records/thread-saver.js';
import { type SlackPacing, type SlackTarget, slackConversation } from './conversation.js';
import type { BotIdentity } from './history.js';

export interface SlackContext {
  readonly config: NonNullable<Config['slack']>;
  readonly conversations: ConversationLayer;
  readonly log: Logger;
  readonly pacing: SlackPacing;
  /** The bot's own identity, known once connected. */
  bot(): BotIdentity;
  /** Saves a thread as knowledge (the digest's "Save as knowledge" button). */
  readonly threadSaver: ThreadSaver;
}

/** Answers `question` at `target` through the conversation layer; `history` is read on demand. */
export async function answerIn(
  ctx: SlackContext,
  client: webApi.WebClient,
  target: SlackTarget,
  question: string,
  history: () => Promise<Turn[]>,
  via: string,
): Promise<void> {
  // The group cannot see a DM, so "Ask a human" is offered only where it can.
  const askHuman = Boolean(ctx.config.escalationGroup) && !target.channel.startsWith('D');
  const conversation = slackConversation({
    client,
    target,
    history,
    pacing: ctx.pacing,
    log: ctx.log,
    askHuman,
  });
  // History is read by the layer only once the question passed its checks.
  await ctx.conversations.ask(conversation, question, { via, allowedChannels: ctx.config.allowedChannels });
}
