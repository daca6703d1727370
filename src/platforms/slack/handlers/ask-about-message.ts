/**
 * "Ask about this message" (message shortcut `ask_about_message`): a modal takes the question;
 * the selected message and its thread are passages of the answer (cited as such) and the
 * conversation's history; the answer comes
 * back privately (ephemeral) with a "Share in thread" button that posts it, with its sources,
 * in the message's thread, crediting who asked.
 */
import type {
  AllMiddlewareArgs,
  App,
  BlockAction,
  ButtonAction,
  MessageShortcut,
  SlackActionMiddlewareArgs,
  SlackShortcutMiddlewareArgs,
  SlackViewMiddlewareArgs,
  types,
  ViewSubmitAction,
} from '@slack/bolt';
import type { FinalReply } from '../../../conversation/conversation.js';
import { isAllowed } from '../../../conversation/layer.js';
import { pointedPassages } from '../../../conversation/pointed-message.js';
import { PrivateAnswers } from '../../../conversation/private-answers.js';
import { strings } from '../../../conversation/strings.js';
import type { Turn } from '../../../core/types.js';
import { slackPlainText } from '../../../render/slack-text.js';
import { safeCut } from '../../../render/split-markdown.js';
import type { SlackContext } from '../context.js';
import { ephemeralConversation } from '../ephemeral.js';
import { markdownBlock, sourcesBlock, toMrkdwn } from '../format.js';
import { ANSWER_EVENT, threadContext } from '../history.js';
import { authorisedTeam } from '../tenant.js';

export const ASK_ABOUT_CALLBACK = 'ask_about_message';
export const ASK_ABOUT_MODAL = 'ask_about_message_modal';
export const SHARE_ACTION = 'share_answer';
const QUESTION_BLOCK = 'question';
const QUESTION_INPUT = 'question_input';
/** Of the message's own text, kept in the modal for when its thread cannot be read. */
const KEPT_MESSAGE_CHARS = 1_500;

/** What the modal carries between the shortcut and its submission (private_metadata). */
export interface AskAbout {
  readonly channel: string;
  readonly messageTs: string;
  readonly threadTs?: string;
  readonly responseUrl?: string;
  readonly text?: string;
}

/** Where a shared answer goes. */
interface ShareTarget {
  readonly channel: string;
  readonly threadTs: string;
}

function parseMetadata(raw: string): AskAbout | undefined {
  try {
    const value = JSON.parse(raw) as Partial<AskAbout>;
    if (typeof value.channel !== 'string' || typeof value.messageTs !== 'string') return undefined;
    return value as AskAbout;
  } catch {
    return undefined;
  }
}

/** Slack's limit on a view's private_metadata. */
const METADATA_LIMIT = 3_000;

/**
 * The modal's metadata within Slack's 3,000 characters: the message's text is what gives way,
 * since JSON escaping (quotes, newlines, non-ASCII) can make its 1,500 characters take twice that.
 */
export function modalMetadata(about: AskAbout): string {
  let text = about.text;
  for (;;) {
    const json = JSON.stringify({ ...about, ...(text ? { text } : { text: undefined }) });
    if (json.length <= METADATA_LIMIT || !text) return json;
    const over = json.length - METADATA_LIMIT;
    text = text.slice(0, safeCut(text, Math.max(0, text.length - Math.max(over, 16))));
  }
}

function questionModal(about: AskAbout): types.ModalView {
  return {
    type: 'modal',
    callback_id: ASK_ABOUT_MODAL,
    private_metadata: modalMetadata(about),
    title: { type: 'plain_text', text: strings.askAboutTitle },
    submit: { type: 'plain_text', text: strings.askAboutSubmit },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: QUESTION_BLOCK,
        label: { type: 'plain_text', text: strings.askAboutLabel },
        element: {
          type: 'plain_text_input',
          action_id: QUESTION_INPUT,
          multiline: true,
          placeholder: { type: 'plain_text', text: strings.askAboutPlaceholder },
        },
      },
    ],
  };
}

const workingModal: types.ModalView = {
  type: 'modal',
  title: { type: 'plain_text', text: strings.askAboutTitle },
  close: { type: 'plain_text', text: 'Close' },
  blocks: [
    { type: 'section', text: { type: 'mrkdwn', text: `_${strings.working}_ ${strings.askAboutPrivately}` } },
  ],
};

function shareButton(id: string): types.KnownBlock {
  return {
    type: 'actions',
    block_id: `share_${id}`,
    elements: [
      {
        type: 'button',
        action_id: SHARE_ACTION,
        text: { type: 'plain_text', text: strings.shareInThread },
        value: id,
      },
    ],
  };
}

export function registerAskAboutMessage(app: App, ctx: SlackContext): void {
  const answers = new PrivateAnswers<ShareTarget>();

  app.shortcut<MessageShortcut>(
    { callback_id: ASK_ABOUT_CALLBACK, type: 'message_action' },
    async ({ shortcut, ack, client }: SlackShortcutMiddlewareArgs<MessageShortcut> & AllMiddlewareArgs) => {
      await ack();
      const text = shortcut.message.text ?? '';
      const about: AskAbout = {
        channel: shortcut.channel.id,
        messageTs: shortcut.message.ts,
        ...(typeof shortcut.message.thread_ts === 'string' ? { threadTs: shortcut.message.thread_ts } : {}),
        responseUrl: shortcut.response_url,
        ...(text ? { text: text.slice(0, safeCut(text, KEPT_MESSAGE_CHARS)) } : {}),
      };
      await client.views.open({ trigger_id: shortcut.trigger_id, view: questionModal(about) });
    },
  );

  app.view<ViewSubmitAction>(
    ASK_ABOUT_MODAL,
    async ({
      ack,
      view,
      body,
      client,
      context,
    }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
      const about = parseMetadata(view.private_metadata);
      const checked = ctx.conversations.check(
        view.state.values[QUESTION_BLOCK]?.[QUESTION_INPUT]?.value ?? '',
      );
      const place = {
        platform: 'slack',
        channelId: about?.channel ?? '',
        direct: about?.channel.startsWith('D'),
      };
      const problem = !about
        ? strings.askAboutNoMessage
        : !checked.ok
          ? checked.message
          : !isAllowed(place, ctx.config.allowedChannels)
            ? strings.notEnabledHere
            : undefined;
      if (problem || !about || !checked.ok) {
        await ack({
          response_action: 'errors',
          errors: { [QUESTION_BLOCK]: problem ?? strings.askAboutNoMessage },
        });
        return;
      }
      await ack({ response_action: 'update', view: workingModal });
      const userId = body.user.id;
      const rootTs = about.threadTs ?? about.messageTs;
      const bot = ctx.bot();
      // The message and its thread: passages of the answer, and the conversation so far; the
      // message alone when the thread cannot be read (a private channel the bot is not in).
      let thread: Turn[] = [];
      try {
        thread = (await threadContext(client, about.channel, rootTs, '', bot)).history;
      } catch (error) {
        ctx.log.debug({ err: error }, 'could not read the thread of the selected message');
      }
      const history =
        thread.length > 0 ? thread : about.text ? [{ role: 'user' as const, text: about.text }] : [];
      const pointed = pointedPassages({ id: about.messageTs, text: about.text ?? '', thread });
      const question = checked.question;
      const conversation = ephemeralConversation({
        client,
        target: {
          channel: about.channel,
          ...(about.threadTs ? { threadTs: about.threadTs } : {}),
          userId,
          ...authorisedTeam(context),
          ...(about.responseUrl ? { responseUrl: about.responseUrl } : {}),
        },
        history: async () => history,
        log: ctx.log,
        actions: (final: FinalReply) =>
          shareButton(
            answers.remember({
              question,
              text: final.text,
              sources: final.sources,
              askerId: userId,
              target: { channel: about.channel, threadTs: rootTs },
            }),
          ),
      });
      await ctx.conversations.ask(conversation, question, {
        via: 'message-shortcut',
        history,
        ...(pointed.length > 0 ? { attachments: pointed } : {}),
      });
    },
  );

  app.action<BlockAction<ButtonAction>>(
    SHARE_ACTION,
    async ({
      ack,
      action,
      body,
      client,
      respond,
    }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs) => {
      await ack();
      const tell = (text: string) =>
        respond({ response_type: 'ephemeral', replace_original: false, text }).catch((error: unknown) =>
          ctx.log.debug({ err: error }, 'could not answer a share click'),
        );
      const claim = answers.claim(action.value ?? '', body.user.id);
      if (!claim.ok) {
        const why = {
          unknown: strings.shareExpired,
          already_shared: strings.shareAlready,
          not_asker: strings.shareNotYours,
        } as const;
        await tell(why[claim.reason]);
        return;
      }
      const { answer } = claim;
      const asker = /^[UW][A-Z0-9]+$/.test(body.user.id) ? `<@${body.user.id}>` : 'Someone';
      const credit = `${asker} asked: ${slackPlainText(answer.question.replace(/\s+/g, ' '))}`;
      try {
        await client.chat.postMessage({
          channel: answer.target.channel,
          thread_ts: answer.target.threadTs,
          text: `${credit}\n\n${toMrkdwn(answer.text)}`.slice(0, 3_900),
          blocks: [
            { type: 'context', elements: [{ type: 'mrkdwn', text: credit.slice(0, 2_900) }] },
            markdownBlock(answer.text.slice(0, safeCut(answer.text, 11_000))),
            sourcesBlock(answer.sources),
          ].filter((block) => block !== undefined),
          metadata: { event_type: ANSWER_EVENT, event_payload: { shared_by: body.user.id } },
        });
      } catch (error) {
        answers.release(action.value ?? '');
        const code = (error as { data?: { error?: string } }).data?.error;
        ctx.log.warn({ channel: answer.target.channel, code }, 'could not share an answer in its thread');
        await tell(
          code === 'not_in_channel' || code === 'channel_not_found'
            ? strings.shareNotHere
            : strings.cannotPostHere,
        );
        return;
      }
      await tell(strings.shareDone);
    },
  );
}
