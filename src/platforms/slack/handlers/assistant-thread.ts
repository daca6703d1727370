/**
 * Slack's AI app surface: the assistant thread a user opens from the top bar or the app's
 * split view. Opening one sets the configured suggested prompts; the first question names the
 * thread (assistant.threads.setTitle); every question in it is answered in that thread through
 * the conversation layer, with a status line per stage that is cleared once the answer is
 * posted. The surrounding channel the user is viewing is not used, so nothing is stored for
 * context changes.
 *
 * Registered before the plain message handler: Bolt's Assistant middleware takes the
 * messages of assistant threads (thread replies in the bot's DM) and stops them there.
 */
import type { AssistantConfig } from '@slack/bolt';
import * as v from 'valibot';
import { strings } from '../../../conversation/strings.js';
import { safeCut } from '../../../render/split-markdown.js';
import { Assistant } from '../bolt.js';
import { questionConversation, type SlackContext } from '../context.js';
import { describeProblem, fromAnyBot, messageEvent } from '../events.js';
import { filesOf, uniqueFiles } from '../files.js';
import { stripBotMention } from '../format.js';
import { threadContext } from '../history.js';
import { DEFAULT_SUGGESTED_PROMPTS } from '../suggested-prompts.js';
import { authorisedInstallation, authorisedTeam } from '../tenant.js';

type UserMessageArgs = Parameters<Extract<AssistantConfig['userMessage'], (...args: never[]) => unknown>>[0];

/** Slack shows about this much of a title in the history list. */
const TITLE_CHARS = 80;

export function threadTitle(question: string): string {
  const flat = question.replace(/\s+/g, ' ').trim();
  return flat.length <= TITLE_CHARS ? flat : `${flat.slice(0, safeCut(flat, TITLE_CHARS - 1))}…`;
}

export function assistantThreads(ctx: SlackContext): Assistant {
  const onUserMessage = async ({ message, client, context, setTitle }: UserMessageArgs) => {
    // Bolt hands the assistant a user's messages and file shares (a file dropped into the thread).
    if (fromAnyBot(message) || (message.subtype !== undefined && message.subtype !== 'file_share')) return;
    const parsed = v.safeParse(messageEvent, message);
    if (!parsed.success || !parsed.output.thread_ts) {
      ctx.log.warn(
        { problem: parsed.success ? 'thread_ts: missing' : describeProblem(parsed.issues) },
        'dropped a malformed assistant thread message',
      );
      return;
    }
    const msg = parsed.output;
    const threadTs = msg.thread_ts!;
    const bot = ctx.bot();
    const shared = filesOf(msg);
    // A file sent with no words is still a question: what does it say?
    const question = stripBotMention(msg.text, bot.userId) || (shared.length > 0 ? strings.aboutTheFile : '');
    // Without the thread (Slack refused to read it) the question is still answered, alone.
    const thread = await threadContext(client, msg.channel, threadTs, msg.ts, bot).catch((error: unknown) => {
      ctx.log.warn({ err: error }, 'could not read the assistant thread; answering without its history');
      return undefined;
    });
    const history = thread?.history ?? [];
    // The first question names the thread; later ones leave the name the user already sees.
    if (question && !history.some((turn) => turn.role === 'user')) {
      await setTitle(threadTitle(question)).catch((error: unknown) =>
        ctx.log.debug({ err: error }, 'could not set the assistant thread title'),
      );
    }
    const team = { ...authorisedTeam(context), ...authorisedInstallation(context) };
    const conversation = await questionConversation(ctx, client, {
      target: { channel: msg.channel, threadTs, userId: msg.user, ...team },
      history: async () => history,
      // The question's files, then those shared earlier in the thread.
      files: async () => uniqueFiles(shared, thread?.files ?? []),
      assistantThread: true,
      handover: { questionTs: msg.ts, history: 'thread' },
    });
    await ctx.conversations.ask(conversation, question, {
      via: 'assistant',
      allowedChannels: ctx.config.allowedChannels,
    });
  };

  return new Assistant({
    async threadStarted({ setSuggestedPrompts }) {
      const prompts = ctx.config.suggestedPrompts ?? DEFAULT_SUGGESTED_PROMPTS;
      if (prompts.length === 0) return;
      await setSuggestedPrompts({ title: 'Try asking', prompts: [...prompts] }).catch((error: unknown) =>
        ctx.log.warn({ err: error }, 'could not set the suggested prompts'),
      );
    },
    // Answers do not depend on the channel the user is looking at; nothing to keep.
    async threadContextChanged() {},
    userMessage: onUserMessage,
  });
}
