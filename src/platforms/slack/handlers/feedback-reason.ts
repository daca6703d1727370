/**
 * The optional "what was wrong?" form a 👎 opens: one line of plain text, recorded with the
 * vote through the conversation layer, then thanked privately in the thread.
 */
import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, types, ViewSubmitAction } from '@slack/bolt';
import { MAX_REASON_CHARS } from '../../../conversation/layer.js';
import { strings } from '../../../conversation/strings.js';
import type { SlackContext } from '../context.js';

export const REASON_VIEW = 'feedback_reason';
const BLOCK = 'reason';
const INPUT = 'reason_input';

interface About {
  readonly questionId: string;
  readonly channel: string;
  readonly threadTs: string | undefined;
}

export function reasonView(about: About): types.ModalView {
  return {
    type: 'modal',
    callback_id: REASON_VIEW,
    private_metadata: JSON.stringify({ q: about.questionId, c: about.channel, t: about.threadTs ?? '' }),
    title: { type: 'plain_text', text: strings.reasonTitle },
    submit: { type: 'plain_text', text: 'Send' },
    close: { type: 'plain_text', text: 'Skip' },
    blocks: [
      {
        type: 'input',
        block_id: BLOCK,
        optional: true,
        label: { type: 'plain_text', text: strings.reasonLabel },
        element: {
          type: 'plain_text_input',
          action_id: INPUT,
          max_length: MAX_REASON_CHARS,
          placeholder: { type: 'plain_text', text: strings.reasonPlaceholder },
        },
      },
    ],
  };
}

function parseAbout(raw: string): About | undefined {
  try {
    const value = JSON.parse(raw) as { q?: unknown; c?: unknown; t?: unknown };
    if (typeof value.q !== 'string' || typeof value.c !== 'string') return undefined;
    return {
      questionId: value.q,
      channel: value.c,
      threadTs: typeof value.t === 'string' && value.t ? value.t : undefined,
    };
  } catch {
    return undefined;
  }
}

export function onFeedbackReason(ctx: SlackContext) {
  return async ({
    ack,
    body,
    view,
    client,
  }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    await ack();
    const about = parseAbout(view.private_metadata);
    const reason = view.state.values[BLOCK]?.[INPUT]?.value?.trim();
    if (!about) {
      ctx.log.warn('a 👎 reason arrived without the answer it is about');
      return;
    }
    const thanks = ctx.conversations.feedback({
      place: { platform: 'slack', channelId: about.channel },
      questionId: about.questionId,
      userId: body.user.id,
      vote: 'down',
      ...(reason ? { reason } : {}),
    });
    await client.chat
      .postEphemeral({
        channel: about.channel,
        user: body.user.id,
        ...(about.threadTs ? { thread_ts: about.threadTs } : {}),
        text: thanks,
      })
      .catch(() => undefined);
  };
}
