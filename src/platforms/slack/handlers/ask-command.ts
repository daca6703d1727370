/**
 * `/ask question`: checked first (a refused question is never pasted into the channel),
 * then echoed as the thread's first message, neutralised and marked with metadata so it
 * reads back as the user's turn, and answered in that thread.
 */
import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { isAllowed } from '../../../conversation/layer.js';
import { strings } from '../../../conversation/strings.js';
import { slackPlainText } from '../../../render/slack-text.js';
import { answerIn, type SlackContext } from '../context.js';
import { QUESTION_EVENT } from '../history.js';
import { authorisedInstallation, authorisedTeam } from '../tenant.js';

const EXAMPLE = '/ask How do I add the bot to Slack?';

export function onAskCommand(ctx: SlackContext) {
  return async ({
    command,
    ack,
    client,
    respond,
    context,
  }: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => {
    const checked = ctx.conversations.check(command.text);
    if (!checked.ok) {
      await ack({
        response_type: 'ephemeral',
        text: checked.kind === 'empty' ? strings.usage(EXAMPLE) : checked.message,
      });
      return;
    }
    const direct = command.channel_id.startsWith('D');
    if (
      !isAllowed({ platform: 'slack', channelId: command.channel_id, direct }, ctx.config.allowedChannels)
    ) {
      await ack({ response_type: 'ephemeral', text: strings.notEnabledHere });
      return;
    }
    await ack();
    const { question } = checked;
    // The asker is named (their own question, so no surprise); their text is shown, never run.
    const asker = /^[UW][A-Z0-9]+$/.test(command.user_id) ? `<@${command.user_id}> asked` : 'Asked';
    let parentTs: string;
    try {
      const parent = await client.chat.postMessage({
        channel: command.channel_id,
        text: `${asker}: ${slackPlainText(question)}`,
        // The asker, so that they (not only admins) may mark the thread resolved (`/kb learn`).
        metadata: { event_type: QUESTION_EVENT, event_payload: { question, asker: command.user_id } },
      });
      parentTs = parent.ts!;
    } catch (error) {
      const code = (error as { data?: { error?: string } }).data?.error;
      const why =
        code === 'not_in_channel' || code === 'channel_not_found'
          ? strings.notAMember(`/invite <@${ctx.bot().userId}>`)
          : strings.cannotPostHere;
      ctx.log.warn({ channel: command.channel_id, code }, 'could not post the /ask question');
      await respond({ response_type: 'ephemeral', text: why }).catch(() => undefined);
      return;
    }
    await answerIn(
      ctx,
      client,
      {
        channel: command.channel_id,
        threadTs: parentTs,
        userId: command.user_id,
        ...authorisedTeam(context),
        ...authorisedInstallation(context),
      },
      question,
      async () => [],
      'command',
      undefined,
      // The thread's first message is the question, posted above: no history before it.
      { questionTs: parentTs, history: 'none' },
    );
  };
}
