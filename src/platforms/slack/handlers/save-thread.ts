/**
 * "Save as knowledge" on a digest item: hands the thread to the configured saver and tells
 * the person who clicked, privately, what happened.
 */
import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { strings } from '../../../conversation/strings.js';
import { parseSaveValue } from '../../../records/digest-slack.js';
import type { SlackContext } from '../context.js';

export function onSaveThread(ctx: SlackContext) {
  return async ({
    ack,
    action,
    body,
    client,
  }: SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs) => {
    await ack();
    const target = parseSaveValue('value' in action ? action.value : undefined);
    const here = body.channel?.id;
    let message: string;
    if (!target) message = strings.deliveryFailed;
    else {
      try {
        const outcome = await ctx.threadSaver.save(
          {
            platform: 'slack',
            channelId: target.channel,
            ...(body.team?.id ? { workspaceId: body.team.id } : {}),
          },
          { threadId: target.thread, requestedBy: body.user.id },
        );
        message = outcome.message;
      } catch (error) {
        ctx.log.error({ err: error }, 'saving a thread failed');
        message = strings.deliveryFailed;
      }
    }
    if (!here) return;
    await client.chat
      .postEphemeral({ channel: here, user: body.user.id, text: message })
      .catch(() => undefined);
  };
}
