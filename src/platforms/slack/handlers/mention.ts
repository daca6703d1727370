/**
 * An @mention, in a channel or inside a thread: answered in a thread on the mention (or in
 * the thread it was written in, with that thread as history). Mentions by bots and
 * malformed events are dropped with one log line.
 */
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import * as v from 'valibot';
import { strings } from '../../../conversation/strings.js';
import { answerIn, type SlackContext } from '../context.js';
import { describeProblem, fromAnyBot, mentionEvent } from '../events.js';
import { filesOf, uniqueFiles } from '../files.js';
import { stripBotMention } from '../format.js';
import { type ThreadContext, threadContext } from '../history.js';
import { authorisedInstallation, authorisedTeam } from '../tenant.js';

export function onMention(ctx: SlackContext) {
  return async ({ event, client, context }: SlackEventMiddlewareArgs<'app_mention'> & AllMiddlewareArgs) => {
    if (fromAnyBot(event)) {
      ctx.log.debug({ channel: event.channel }, 'ignored a mention from a bot');
      return;
    }
    const parsed = v.safeParse(mentionEvent, event);
    if (!parsed.success) {
      ctx.log.warn({ problem: describeProblem(parsed.issues) }, 'dropped a malformed app_mention event');
      return;
    }
    const mention = parsed.output;
    const rootTs = mention.thread_ts ?? mention.ts;
    const shared = filesOf(mention);
    const question =
      stripBotMention(mention.text, ctx.bot().userId) || (shared.length > 0 ? strings.aboutTheFile : '');
    if (!question) {
      await client.chat.postMessage({
        channel: mention.channel,
        thread_ts: rootTs,
        text: strings.emptyMention,
      });
      return;
    }
    // One read of the thread serves both its history and its earlier files.
    let thread: Promise<ThreadContext> | undefined;
    const readThread = () => {
      thread ??= threadContext(client, mention.channel, rootTs, mention.ts, ctx.bot());
      return thread;
    };
    const history = async () => (mention.thread_ts ? (await readThread()).history : []);
    const files = async () => (mention.thread_ts ? uniqueFiles(shared, (await readThread()).files) : shared);
    await answerIn(
      ctx,
      client,
      {
        channel: mention.channel,
        threadTs: rootTs,
        userId: mention.user,
        ...authorisedTeam(context),
        ...authorisedInstallation(context),
        ...(mention.user_team ? { recipientTeamId: mention.user_team } : {}),
      },
      question,
      history,
      'mention',
      files,
      // A new thread reads back as the mention alone: no history, its files.
      { questionTs: mention.ts, history: 'thread' },
    );
  };
}
