/**
 * Plain messages: a DM is a question (Slack sends no app_mention for DMs); a reply in a
 * thread the bot has taken part in is a follow-up and needs no mention. Everything else —
 * other bots and apps, edits, joins, messages that mention the bot (app_mention answers
 * those) — is not ours to answer.
 */
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import * as v from 'valibot';
import { isAllowed } from '../../../conversation/layer.js';
import { strings } from '../../../conversation/strings.js';
import { AUDIENCE_CHANGES, forgetAudience } from '../audience.js';
import { answerIn, type SlackContext } from '../context.js';
import { describeProblem, fromAnyBot, messageEvent } from '../events.js';
import { filesOf, uniqueFiles } from '../files.js';
import { stripBotMention } from '../format.js';
import { directMessageHistory, threadContext } from '../history.js';
import { authorisedInstallation, authorisedTeam } from '../tenant.js';

/** Message subtypes a person writes as a question; every other subtype is an event about a message. */
const QUESTION_SUBTYPES = new Set(['file_share', 'thread_broadcast']);

export function onMessage(ctx: SlackContext) {
  return async ({
    message,
    client,
    context: request,
  }: SlackEventMiddlewareArgs<'message'> & AllMiddlewareArgs) => {
    // A channel made private (or public): who can see it changed, for the records from now on.
    if (message.subtype !== undefined && AUDIENCE_CHANGES.has(message.subtype)) {
      forgetAudience(message.channel);
      return;
    }
    if (fromAnyBot(message)) {
      ctx.log.debug({ channel: message.channel }, 'ignored a message from a bot');
      return;
    }
    // Edits, joins and the like are not questions; a message sharing a file is, and so is a
    // thread reply also sent to the channel ("Also send to #channel": thread_broadcast).
    if (message.subtype !== undefined && !QUESTION_SUBTYPES.has(message.subtype)) return;
    const parsed = v.safeParse(messageEvent, message);
    if (!parsed.success) {
      ctx.log.warn({ problem: describeProblem(parsed.issues) }, 'dropped a malformed message event');
      return;
    }
    const msg = parsed.output;
    const bot = ctx.bot();
    const team = {
      ...authorisedTeam(request),
      ...authorisedInstallation(request),
      ...(msg.user_team ? { recipientTeamId: msg.user_team } : {}),
    };
    const shared = filesOf(msg);
    const withFiles = (text: string) => text || (shared.length > 0 ? strings.aboutTheFile : '');
    if (msg.channel_type === 'im') {
      const question = withFiles(stripBotMention(msg.text, bot.userId));
      if (!question) return;
      const history = () => directMessageHistory(client, msg.channel, msg.ts, bot);
      await answerIn(
        ctx,
        client,
        { channel: msg.channel, userId: msg.user, ...team },
        question,
        history,
        'dm',
        async () => shared,
        { questionTs: msg.ts, history: 'dm' },
      );
      return;
    }
    if (msg.text.includes(`<@${bot.userId}>`)) return;
    if (!msg.thread_ts || msg.thread_ts === msg.ts) return;
    // Un-mentioned replies in a channel the bot is not enabled in are none of its business.
    if (!isAllowed({ platform: 'slack', channelId: msg.channel }, ctx.config.allowedChannels)) return;
    const context = await threadContext(client, msg.channel, msg.thread_ts, msg.ts, bot);
    if (!context.botParticipates) return;
    await answerIn(
      ctx,
      client,
      { channel: msg.channel, threadTs: msg.thread_ts, userId: msg.user, ...team },
      withFiles(msg.text),
      async () => context.history,
      'follow-up',
      async () => uniqueFiles(shared, context.files),
      { questionTs: msg.ts, history: 'thread' },
    );
  };
}
