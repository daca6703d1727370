/**
 * Plain messages: a DM is a question (Slack sends no app_mention for DMs); a reply in a
 * thread the bot has taken part in is a follow-up and needs no mention. Everything else —
 * other bots and apps, edits, joins, messages that mention the bot (app_mention answers
 * those) — is not ours to answer.
 */
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { isAllowed } from '../../../conversation/layer.js';
import { answerIn, type SlackContext } from '../context.js';
import { describeProblem, fromAnyBot, messageEvent } from '../events.js';
import { stripBotMention } from '../format.js';
import { directMessageHistory, threadContext } from '../history.js';

export function onMessage(ctx: SlackContext) {
  return async ({ message, client, body }: SlackEventMiddlewareArgs<'message'> & AllMiddlewareArgs) => {
    if (fromAnyBot(message)) {
      ctx.log.debug({ channel: message.channel }, 'ignored a message from a bot');
      return;
    }
    if (message.subtype !== undefined) return;
    const parsed = messageEvent.safeParse(message);
    if (!parsed.success) {
      ctx.log.warn({ problem: describeProblem(parsed.error) }, 'dropped a malformed message event');
      return;
    }
    const msg = parsed.data;
    const bot = ctx.bot();
    const teamId = (body as { team_id?: string }).team_id;
    const team = teamId ? { teamId } : {};
    if (msg.channel_type === 'im') {
      const question = stripBotMention(msg.text, bot.userId);
      if (!question) return;
      const history = () => directMessageHistory(client, msg.channel, msg.ts, bot);
      await answerIn(
        ctx,
        client,
        { channel: msg.channel, userId: msg.user, ...team },
        question,
        history,
        'dm',
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
      msg.text,
      async () => context.history,
      'follow-up',
    );
  };
}
