/**
 * A Slack thread, DM or channel as a conversation: Slack's primitives for the shared layer.
 * The answer streams through Slack's chat streaming API (startStream → appendStream →
 * stopStream) where the workspace allows it; where it is refused the bot posts a placeholder
 * and edits it with chat.update, continuing long answers in further messages. The end
 * carries numbered sources, feedback buttons and metadata that marks it as an answer.
 */
import type { webApi } from '@slack/bolt';
import type { AttachedFile } from '../../conversation/attachments.js';
import type { Conversation, FinalReply, LiveReply, WorkingStage } from '../../conversation/conversation.js';
import { strings } from '../../conversation/strings.js';
import type { Turn } from '../../core/types.js';
import type { Logger } from '../../log.js';
import { slackNeutralizer, slackPlainText } from '../../render/slack-text.js';
import { safeCut, splitMarkdown } from '../../render/split-markdown.js';
import { slackAudience } from './audience.js';
import { feedbackBlock, markdownBlock, sourcesBlock, toMrkdwn } from './format.js';
import { ANSWER_EVENT } from './history.js';

type WebClient = webApi.WebClient;

/** Where an answer goes in Slack. */
export interface SlackTarget {
  readonly channel: string;
  /** Thread to answer in; absent for a DM answered in place. */
  readonly threadTs?: string;
  readonly userId: string;
  readonly teamId?: string;
}

export interface SlackPacing {
  /** Minimum time between chat.update edits of one message (Slack allows about one a second). */
  readonly editIntervalMs?: number;
  /** Minimum time between chat.appendStream calls. */
  readonly appendIntervalMs?: number;
}

/** Longest text per message in the chat.update fallback (Slack truncates `text` at 4,000). */
export const MESSAGE_LIMIT = 3_500;
const PLACEHOLDER = `_${strings.working}_`;

function errorCode(error: unknown): string {
  return (error as { data?: { error?: string } }).data?.error ?? (error as Error).message;
}

/** Streams into a message opened with chat.startStream: only new text is sent. */
function streamingReply(
  client: WebClient,
  target: SlackTarget,
  ts: string,
  intervalMs: number,
  askHuman: boolean,
): LiveReply {
  return {
    writes: 'append',
    writeIntervalMs: intervalMs,
    async write(piece) {
      await client.chat.appendStream({ channel: target.channel, ts, markdown_text: piece });
    },
    async finish(final) {
      const tail = final.text.slice(final.written);
      const notice = final.notice ? `:warning: ${final.notice}` : '';
      const joined = `${tail}${final.text && notice ? '\n\n' : ''}${notice}`;
      const blocks = finalBlocks(final, askHuman);
      await client.chat.stopStream({
        channel: target.channel,
        ts,
        ...(joined ? { markdown_text: joined } : {}),
        ...(blocks.length > 0 ? { blocks } : {}),
        ...(final.text ? { metadata: answerMetadata(final) } : {}),
      });
    },
  };
}

/** Edits a placeholder with chat.update; a long answer continues in further messages. */
function editingReply(
  client: WebClient,
  target: SlackTarget,
  ts: string,
  intervalMs: number,
  askHuman: boolean,
): LiveReply {
  const thread = target.threadTs ? { thread_ts: target.threadTs } : {};
  return {
    writes: 'replace',
    writeIntervalMs: intervalMs,
    async write(latest) {
      const visible =
        latest.length > MESSAGE_LIMIT ? `${latest.slice(0, safeCut(latest, MESSAGE_LIMIT))}…` : latest;
      await client.chat.update({
        channel: target.channel,
        ts,
        text: toMrkdwn(visible),
        blocks: [markdownBlock(visible)],
      });
    },
    async finish(final) {
      const parts = final.text ? splitMarkdown(final.text, MESSAGE_LIMIT) : [];
      if (final.notice) parts.push(`:warning: ${final.notice}`);
      const extra = finalBlocks(final, askHuman);
      const metadata = final.text ? { metadata: answerMetadata(final) } : {};
      const blocksFor = (part: string, last: boolean) =>
        last ? [markdownBlock(part), ...extra] : [markdownBlock(part)];
      const [first = '', ...rest] = parts;
      await client.chat.update({
        channel: target.channel,
        ts,
        text: toMrkdwn(first),
        blocks: blocksFor(first, rest.length === 0),
        ...metadata,
      });
      for (const [i, part] of rest.entries()) {
        await client.chat.postMessage({
          channel: target.channel,
          ...thread,
          text: toMrkdwn(part),
          blocks: blocksFor(part, i === rest.length - 1),
          ...metadata,
        });
      }
    },
  };
}

function finalBlocks(final: FinalReply, askHuman: boolean) {
  return [
    sourcesBlock(final.sources, final.alsoSearched),
    final.feedbackId ? feedbackBlock(final.feedbackId, { askHuman }) : undefined,
  ].filter((block) => block !== undefined);
}

function answerMetadata(final: FinalReply) {
  return { event_type: ANSWER_EVENT, event_payload: { question_id: final.feedbackId ?? '' } };
}

async function openReply(
  client: WebClient,
  target: SlackTarget,
  pacing: SlackPacing,
  log: Logger,
  askHuman: boolean,
): Promise<LiveReply> {
  if (target.threadTs) {
    try {
      const started = await client.chat.startStream({
        channel: target.channel,
        thread_ts: target.threadTs,
        recipient_user_id: target.userId,
        ...(target.teamId ? { recipient_team_id: target.teamId } : {}),
      });
      if (started.ts)
        return streamingReply(client, target, started.ts, pacing.appendIntervalMs ?? 400, askHuman);
    } catch (error) {
      log.debug({ reason: errorCode(error) }, 'chat streaming refused; editing a placeholder instead');
    }
  }
  const posted = await client.chat.postMessage({
    channel: target.channel,
    ...(target.threadTs ? { thread_ts: target.threadTs } : {}),
    text: PLACEHOLDER,
  });
  return editingReply(client, target, posted.ts!, pacing.editIntervalMs ?? 1_000, askHuman);
}

export interface SlackConversationInput {
  readonly client: WebClient;
  readonly target: SlackTarget;
  readonly history: () => Promise<Turn[]>;
  readonly pacing: SlackPacing;
  readonly log: Logger;
  /** The bot's assistant thread: a status line per stage, cleared once the answer is posted. */
  readonly assistantThread?: boolean;
  /** Files attached to the question and its thread. */
  readonly attachments?: () => Promise<readonly AttachedFile[]>;
  /** Offer "Ask a human" under the answer (a group to mention is configured, others can see it). */
  readonly askHuman?: boolean;
}

/** The assistant status for each stage of an answer ("<app> is searching the knowledge base…"). */
const ASSISTANT_STATUS: Record<WorkingStage, string> = {
  condensing: strings.statusCondensing,
  retrieving: strings.statusSearching,
  generating: strings.statusWriting,
  waiting: strings.statusWaiting,
};

export function slackConversation(input: SlackConversationInput): Conversation {
  const { client, target, pacing, log } = input;
  const thread = target.threadTs ? { thread_ts: target.threadTs } : {};
  let shownStatus: string | undefined;
  const clearStatus = async () => {
    if (!input.assistantThread || !target.threadTs || !shownStatus) return;
    shownStatus = undefined;
    await client.assistant.threads
      .setStatus({ channel_id: target.channel, thread_ts: target.threadTs, status: '' })
      .catch((error: unknown) => log.debug({ reason: errorCode(error) }, 'could not clear the status'));
  };
  return {
    place: {
      platform: 'slack',
      channelId: target.channel,
      ...(target.threadTs ? { threadId: target.threadTs } : {}),
      ...(target.teamId ? { workspaceId: target.teamId } : {}),
      direct: target.channel.startsWith('D'),
    },
    asker: { id: target.userId },
    presenter: {
      neutralizer: slackNeutralizer,
      plainText: slackPlainText,
      writeIntervalMs: pacing.editIntervalMs ?? 1_000,
    },
    history: input.history,
    ...(input.attachments ? { attachments: input.attachments } : {}),
    openReply: async () => {
      const reply = await openReply(client, target, pacing, log, input.askHuman ?? false);
      if (!input.assistantThread) return reply;
      return {
        ...reply,
        write: (text) => reply.write(text),
        async finish(final) {
          await reply.finish(final);
          await clearStatus();
        },
      };
    },
    // In assistant threads this shows a live status; elsewhere Slack refuses it and the
    // streaming message or placeholder is the sign of life.
    async showWorking(stage) {
      const status = input.assistantThread
        ? ASSISTANT_STATUS[stage]
        : stage === 'waiting'
          ? strings.statusWaiting
          : strings.statusWorking;
      // One call per change of wording, not one per stage of the core.
      if (!target.threadTs || status === shownStatus) return;
      shownStatus = status;
      await client.assistant.threads.setStatus({
        channel_id: target.channel,
        thread_ts: target.threadTs,
        status,
      });
    },
    async notify(text) {
      await client.chat.postMessage({ channel: target.channel, ...thread, text: `:warning: ${text}` });
      await clearStatus();
    },
    async permalink() {
      if (!target.threadTs) return undefined;
      const found = await client.chat.getPermalink({ channel: target.channel, message_ts: target.threadTs });
      return found.permalink;
    },
    audience: () => slackAudience(client, target.channel, log),
  };
}
