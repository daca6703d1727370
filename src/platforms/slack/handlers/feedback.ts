/**
 * 👍/👎 under an answer: recorded by the conversation layer, thanked privately. A 👎 also
 * opens a small form asking why (optional: closing it keeps the vote as it is).
 */
import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs, webApi } from '@slack/bolt';
import type { SlackContext } from '../context.js';
import { REASON_VIEW, reasonView } from './feedback-reason.js';

export function onFeedback(ctx: SlackContext) {
  return async ({
    ack,
    action,
    body,
    client,
  }: SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs) => {
    await ack();
    const vote = 'action_id' in action && action.action_id === 'feedback_up' ? 'up' : 'down';
    const questionId = 'value' in action && action.value ? action.value : '';
    const channel = body.channel?.id;
    const thanks = ctx.conversations.feedback({
      place: { platform: 'slack', ...(channel ? { channelId: channel } : {}) },
      questionId,
      userId: body.user.id,
      vote,
    });
    const threadTs = (body.message?.thread_ts as string | undefined) ?? body.message?.ts;
    if (!channel) return;
    if (vote === 'down' && (await askWhy(client, body.trigger_id, { questionId, channel, threadTs }, ctx)))
      return;
    await client.chat
      .postEphemeral({
        channel,
        user: body.user.id,
        ...(threadTs ? { thread_ts: threadTs } : {}),
        text: thanks,
      })
      .catch(() => undefined);
  };
}

/** Opens the reason form; false when Slack refused it (the thanks is then posted instead). */
async function askWhy(
  client: webApi.WebClient,
  triggerId: string | undefined,
  about: { questionId: string; channel: string; threadTs: string | undefined },
  ctx: SlackContext,
): Promise<boolean> {
  if (!triggerId) return false;
  try {
    await client.views.open({ trigger_id: triggerId, view: reasonView(about) });
    return true;
  } catch (error) {
    ctx.log.debug({ err: error, view: REASON_VIEW }, 'could not open the 👎 reason form');
    return false;
  }
}
