/**
 * "Ask a human" under an answer: posts in the thread a message that mentions the configured
 * user group (ESCALATION_SLACK_GROUP), the one deliberate ping the bot sends, and tells the
 * person who clicked, privately, that it was done. Nothing else in that message can ping.
 */
import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { strings } from '../../../conversation/strings.js';
import type { SlackContext } from '../context.js';
import { slackHandoff } from '../tenant-settings.js';

export function onAskHuman(ctx: SlackContext) {
  return async ({
    ack,
    action,
    body,
    client,
    context,
  }: SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs) => {
    await ack();
    const channel = body.channel?.id;
    if (!channel) return;
    const questionId = 'value' in action && action.value ? action.value : '';
    const threadTs = (body.message?.thread_ts as string | undefined) ?? body.message?.ts;
    // The workspace's own group (/kb settings), else ESCALATION_SLACK_GROUP.
    const group = await slackHandoff(ctx, context.teamId);
    const tell = (text: string) =>
      client.chat
        .postEphemeral({ channel, user: body.user.id, ...(threadTs ? { thread_ts: threadTs } : {}), text })
        .catch(() => undefined);
    if (!group) return void (await tell(strings.humanNotConfigured));
    if (!threadTs || channel.startsWith('D')) return void (await tell(strings.humanNoThread));
    const decision = await ctx.conversations.mayEscalate({
      platform: 'slack',
      questionId,
      userId: body.user.id,
      channelId: channel,
    });
    if (!decision.ok) return void (await tell(decision.message));
    try {
      await client.chat.postMessage({
        channel,
        thread_ts: threadTs,
        text: strings.humanWanted(`<!subteam^${group}>`),
      });
    } catch (error) {
      ctx.log.warn({ err: error, channel }, 'could not ask a human');
      return void (await tell(strings.cannotPostHere));
    }
    await tell(
      ctx.conversations.escalated({
        place: { platform: 'slack', channelId: channel, threadId: threadTs },
        questionId,
        userId: body.user.id,
      }),
    );
  };
}
