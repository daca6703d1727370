/**
 * The "Save to knowledge base" message shortcut (callback_id `save_to_knowledge`): the thread
 * the message belongs to becomes knowledge in the channel's collection, cited by its
 * permalink. Admins only unless SAVE_TO_KB=everyone; confirmed privately. `saveSlackThread`
 * is the save itself, for any other Slack trigger (a digest's button) to reuse.
 */
import type { AllMiddlewareArgs, MessageShortcut, SlackShortcutMiddlewareArgs, webApi } from '@slack/bolt';
import { strings } from '../../../conversation/strings.js';
import {
  firstAndNewest,
  MAX_SAVED_THREAD_MESSAGES,
  type SavedThread,
  type ThreadMessage,
} from '../../../knowledge/save-thread.js';
import { type KnowledgeService, savedMessage, saveFailureMessage } from '../../../knowledge/service.js';
import type { SlackContext } from '../context.js';
import { type BotIdentity, QUESTION_EVENT } from '../history.js';
import { authorisedTeam } from '../tenant.js';
import { threadPages } from '../thread-pages.js';
import { isSlackAdmin } from './kb-admin.js';

export const SAVE_TO_KNOWLEDGE = 'save_to_knowledge';

interface SlackThreadMessage {
  ts?: string;
  text?: string;
  user?: string;
  bot_id?: string;
  subtype?: string;
  reply_count?: number;
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
}

/**
 * The most messages of a thread read to save it: all of an ordinary thread, whatever Slack's page
 * size (15 a page for apps outside the Marketplace: 67 calls at most), so its newest replies,
 * where the resolution is, are kept. Only the answer path reads a thread's first pages alone.
 */
export const MAX_THREAD_MESSAGES_READ = 1_000;

function isOurs(message: SlackThreadMessage, bot: BotIdentity): boolean {
  return message.user === bot.userId || (bot.botId !== undefined && message.bot_id === bot.botId);
}

/**
 * The thread rooted at `threadTs` as it is saved: its first message and its newest, at most
 * MAX_SAVED_THREAD_MESSAGES, as knowledge sees them; how many were left out; and its permalink.
 * The whole thread is read page by page (up to MAX_THREAD_MESSAGES_READ), not only its first
 * pages as for an answer.
 */
export async function readSlackThread(
  client: webApi.WebClient,
  thread: { channel: string; threadTs: string; bot: BotIdentity },
): Promise<{ messages: ThreadMessage[]; omitted: number; permalink: string }> {
  const raw: SlackThreadMessage[] = [];
  for await (const page of threadPages<SlackThreadMessage>(client, {
    channel: thread.channel,
    ts: thread.threadTs,
    limit: 200,
    // The /ask echo's question is in its metadata, which Slack returns only when asked.
    includeMetadata: true,
    maxPages: MAX_THREAD_MESSAGES_READ,
  })) {
    raw.push(...page);
    if (raw.length >= MAX_THREAD_MESSAGES_READ) break;
  }
  // Replies past the reading bound are not read; the parent says how many there are.
  const unread = Math.max(0, (raw[0]?.reply_count ?? 0) + 1 - raw.length);
  const all: ThreadMessage[] = [];
  for (const [index, message] of raw.entries()) {
    // Joins, edits and the like are not the conversation; a reply sharing a file is.
    if (message.subtype && message.subtype !== 'thread_broadcast' && message.subtype !== 'file_share')
      continue;
    const asked =
      message.metadata?.event_type === QUESTION_EVENT ? message.metadata.event_payload?.question : undefined;
    if (index === 0) {
      // The /ask echo carries the question as asked; its "@you asked:" line is ours, not theirs.
      all.push({ role: 'question', text: typeof asked === 'string' ? asked : (message.text ?? '') });
      continue;
    }
    if (isOurs(message, thread.bot)) all.push({ role: 'bot', text: message.text ?? '' });
    else if (!message.bot_id)
      all.push({
        role: 'human',
        text: message.text ?? '',
        ...(message.user ? { author: `<@${message.user}>` } : {}),
      });
  }
  const { permalink } = await client.chat.getPermalink({
    channel: thread.channel,
    message_ts: thread.threadTs,
  });
  if (!permalink) throw new Error('Slack gave no permalink for the thread');
  const { kept, omitted } = firstAndNewest(all, MAX_SAVED_THREAD_MESSAGES);
  return { messages: kept, omitted: omitted + unread, permalink };
}

/** Reads the thread rooted at `threadTs` and saves it to the channel's collection. */
export async function saveSlackThread(
  knowledge: KnowledgeService,
  client: webApi.WebClient,
  thread: { channel: string; threadTs: string; teamId?: string; savedBy: string; bot: BotIdentity },
): Promise<SavedThread> {
  const { messages, omitted, permalink } = await readSlackThread(client, thread);
  return knowledge.saveThread({
    omitted,
    place: {
      platform: 'slack',
      channelId: thread.channel,
      ...(thread.teamId ? { workspaceId: thread.teamId } : {}),
    },
    permalink,
    messages,
    savedBy: thread.savedBy,
  });
}

export function onSaveToKnowledge(ctx: SlackContext, knowledge: KnowledgeService) {
  return async ({
    ack,
    shortcut,
    client,
    context,
  }: SlackShortcutMiddlewareArgs<MessageShortcut> & AllMiddlewareArgs) => {
    await ack();
    const channel = shortcut.channel.id;
    const userId = shortcut.user.id;
    const threadTs = (shortcut.message.thread_ts as string | undefined) ?? shortcut.message.ts;
    const tell = (text: string) =>
      client.chat
        .postEphemeral({ channel, user: userId, thread_ts: threadTs, text })
        .then(() => undefined)
        .catch((error: unknown) => ctx.log.warn({ err: error }, 'could not confirm a saved thread'));
    const allowed =
      knowledge.settings.saveToKb === 'everyone' ||
      (await isSlackAdmin(client, userId, knowledge.settings.slackAdminUsers, ctx.log));
    if (!allowed) return tell(strings.save.notAllowed);
    try {
      const saved = await saveSlackThread(knowledge, client, {
        channel,
        threadTs,
        ...authorisedTeam(context),
        savedBy: `slack:${userId}`,
        bot: ctx.bot(),
      });
      await tell(savedMessage(saved));
    } catch (error) {
      ctx.log.error({ err: error, channel }, 'could not save a thread as knowledge');
      await tell(saveFailureMessage(error));
    }
  };
}
