/** What every Slack handler needs: the shared conversation layer and this app's settings. */
import type { webApi } from '@slack/bolt';
import type { Conversation } from '../../conversation/conversation.js';
import type { ConversationLayer } from '../../conversation/layer.js';
import type { Turn } from '../../core/types.js';
import type { Logger } from '../../log.js';
import type { TenantSettingsStore } from '../../tenants/settings-store.js';
import {
  type SlackHandover,
  type SlackPacing,
  type SlackResumedReply,
  type SlackTarget,
  type StreamingSupport,
  slackConversation,
} from './conversation.js';
import { resolveStubs, type SlackFile, slackAttachedFile } from './files.js';
import type { BotIdentity } from './history.js';
import type { SlackConfig } from './settings.js';
import { slackHandoff } from './tenant-settings.js';
import type { WorkspaceUrls } from './workspace-links.js';

export interface SlackContext {
  readonly config: SlackConfig;
  readonly conversations: ConversationLayer;
  readonly log: Logger;
  readonly pacing: SlackPacing;
  /** The bot's own identity, known once connected. */
  bot(): BotIdentity;
  /** Workspaces that refuse chat streaming, learnt from the first refusal. */
  readonly streaming: StreamingSupport;
  /** Each workspace's URL, for links to messages. */
  readonly workspaceUrls: WorkspaceUrls;
  /** Each workspace's `/kb settings` (hand-off group, digest channel); absent: only the variables apply. */
  readonly tenants?: TenantSettingsStore;
  /** DIGEST_SLACK_CHANNEL (one workspace), shown where a workspace chose none. */
  readonly digestChannel?: string;
}

/** A question in Slack, as a handler (or another instance finishing its answer) sees it. */
export interface SlackQuestion {
  readonly target: SlackTarget;
  /** The conversation so far, read on demand. */
  readonly history: () => Promise<Turn[]>;
  /** The files of the question and its thread, read on demand. */
  readonly files?: () => Promise<readonly SlackFile[]>;
  /** What another instance needs to finish the answer if this one dies. */
  readonly handover?: SlackHandover;
  /** The bot's assistant thread (a status line per stage). */
  readonly assistantThread?: boolean;
  /** The message of an answer another instance began, to write into. */
  readonly resume?: SlackResumedReply;
}

/** The conversation of a question: the reply, its history and files, "Ask a human" where it can ping. */
export async function questionConversation(
  ctx: SlackContext,
  client: webApi.WebClient,
  question: SlackQuestion,
): Promise<Conversation> {
  const { target, files } = question;
  // The token this workspace's client carries (per installation in OAuth mode) downloads its files.
  const botToken = client.token ?? ctx.config.botToken;
  const access = botToken
    ? { botToken, ...(ctx.config.apiURL ? { apiURL: ctx.config.apiURL } : {}) }
    : undefined;
  // The group cannot see a DM, so "Ask a human" is offered only where it can.
  const askHuman = !target.channel.startsWith('D') && (await slackHandoff(ctx, target.teamId)) !== undefined;
  return slackConversation({
    client,
    target,
    history: question.history,
    pacing: ctx.pacing,
    log: ctx.log,
    ...(files && access
      ? {
          attachments: async () =>
            (await resolveStubs(client, await files())).map((file) => slackAttachedFile(file, access)),
        }
      : {}),
    askHuman,
    ...(question.handover ? { handover: question.handover } : {}),
    ...(question.assistantThread ? { assistantThread: true } : {}),
    ...(question.resume ? { resume: question.resume } : {}),
    streaming: ctx.streaming,
    workspaceUrl: () => ctx.workspaceUrls.urlFor(target.teamId, client),
  });
}

/**
 * Answers `question` at `target` through the conversation layer; `history` and `files` (the
 * question's and its thread's) are read on demand.
 */
export async function answerIn(
  ctx: SlackContext,
  client: webApi.WebClient,
  target: SlackTarget,
  question: string,
  history: () => Promise<Turn[]>,
  via: string,
  files?: () => Promise<readonly SlackFile[]>,
  handover?: SlackHandover,
): Promise<void> {
  const conversation = await questionConversation(ctx, client, {
    target,
    history,
    ...(files ? { files } : {}),
    ...(handover ? { handover } : {}),
  });
  // History is read by the layer only once the question passed its checks.
  await ctx.conversations.ask(conversation, question, { via, allowedChannels: ctx.config.allowedChannels });
}
