/**
 * A private answer in Slack: a conversation whose reply is one ephemeral message, seen only by
 * the asker, carrying the answer, its sources, the feedback buttons and a "Share in thread"
 * button. Slack cannot edit an ephemeral message through chat.update, so nothing streams: the
 * answer is posted whole. Where chat.postEphemeral is refused (the bot is not in the channel)
 * the shortcut's response_url, which works anywhere, delivers it instead.
 */
import type { types, webApi } from '@slack/bolt';
import type { Conversation, FinalReply } from '../../conversation/conversation.js';
import type { Turn } from '../../core/types.js';
import type { Logger } from '../../log.js';
import { slackNeutralizer } from '../../render/slack-text.js';
import { safeCut } from '../../render/split-markdown.js';
import { feedbackBlock, markdownBlock, sourcesBlock, toMrkdwn } from './format.js';

/** Slack's limit on one markdown block. */
const MARKDOWN_BLOCK_LIMIT = 11_000;

export interface EphemeralTarget {
  readonly channel: string;
  /** Shown in this thread when the message the question is about is in one. */
  readonly threadTs?: string;
  readonly userId: string;
  readonly teamId?: string;
  /** The shortcut's response_url: delivers where the bot is not a channel member. */
  readonly responseUrl?: string;
}

export interface EphemeralConversationInput {
  readonly client: webApi.WebClient;
  readonly target: EphemeralTarget;
  readonly history: () => Promise<Turn[]>;
  readonly log: Logger;
  /** Extra buttons for a finished answer (e.g. Share in thread); none for a failure. */
  readonly actions?: (final: FinalReply) => types.KnownBlock | undefined;
  /** Paces nothing (an ephemeral answer is posted whole); kept for the presenter's contract. */
  readonly writeIntervalMs?: number;
}

function answerBlocks(
  final: FinalReply,
  extra: types.KnownBlock | undefined,
): (types.Block | types.KnownBlock)[] {
  const text =
    final.text.length > MARKDOWN_BLOCK_LIMIT
      ? `${final.text.slice(0, safeCut(final.text, MARKDOWN_BLOCK_LIMIT))}…`
      : final.text;
  return [
    ...(text ? [markdownBlock(text)] : []),
    ...(final.notice ? [markdownBlock(`:warning: ${final.notice}`)] : []),
    sourcesBlock(final.sources, final.alsoSearched),
    extra,
    final.feedbackId ? feedbackBlock(final.feedbackId) : undefined,
  ].filter((block) => block !== undefined);
}

/** Posts privately to the asker: chat.postEphemeral, else the response_url. */
export async function postPrivately(
  client: webApi.WebClient,
  target: EphemeralTarget,
  message: { text: string; blocks?: (types.Block | types.KnownBlock)[] },
  log: Logger,
): Promise<void> {
  try {
    await client.chat.postEphemeral({
      channel: target.channel,
      user: target.userId,
      ...(target.threadTs ? { thread_ts: target.threadTs } : {}),
      ...message,
    });
    return;
  } catch (error) {
    if (!target.responseUrl) throw error;
    const code = (error as { data?: { error?: string } }).data?.error;
    log.debug({ code }, 'chat.postEphemeral refused; answering through the response_url');
  }
  const response = await fetch(target.responseUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, ...message }),
  });
  if (!response.ok) throw new Error(`response_url answered ${response.status}`);
}

export function ephemeralConversation(input: EphemeralConversationInput): Conversation {
  const { client, target, log } = input;
  return {
    place: {
      platform: 'slack',
      channelId: target.channel,
      ...(target.threadTs ? { threadId: target.threadTs } : {}),
      ...(target.teamId ? { workspaceId: target.teamId } : {}),
      direct: target.channel.startsWith('D'),
    },
    asker: { id: target.userId },
    presenter: { neutralizer: slackNeutralizer, writeIntervalMs: input.writeIntervalMs ?? 1_000 },
    history: input.history,
    async openReply() {
      return {
        writes: 'replace',
        // Nothing to show until the end: an ephemeral message cannot be edited as it grows.
        async write() {},
        async finish(final) {
          const blocks = answerBlocks(final, final.feedbackId ? input.actions?.(final) : undefined);
          const text = toMrkdwn(final.text || final.notice || '').slice(0, 3_000);
          await postPrivately(client, target, { text, blocks }, log);
        },
      };
    },
    async notify(text) {
      await postPrivately(client, target, { text: `:warning: ${text}` }, log);
    },
  };
}
