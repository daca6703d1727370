/** 👍/👎 under an answer: recorded by the conversation layer, thanked privately. */
import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { SlackContext } from '../context.js';

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
