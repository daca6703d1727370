/**
 * A Slack thread, DM or channel as a conversation: Slack's primitives for the shared layer.
 *
 * An answer costs as few Web API calls as Slack allows. The reply is opened with its first
 * text: chat.startStream carrying it, then chat.appendStream at most once per interval while
 * the model writes, then chat.stopStream with the rest, the sources, the feedback buttons and
 * the metadata that marks it as an answer (two calls for a short answer). Should the first
 * text be slow to come (a follow-up to condense, a model queueing), the stream opens without
 * it after `firstTextWaitMs`, so the asker sees the bot at work. In assistant threads the
 * status line says so instead (assistant.threads.setStatus, which Slack accepts only there).
 * An answer that ends with no text at all (a refusal) is one chat.postMessage.
 *
 * Where Slack refuses streaming (remembered per workspace) or there is no thread to stream
 * into, the first text is posted with chat.postMessage and edited with chat.update,
 * continuing long answers in further messages. The record's link to the question is built from
 * the workspace's URL (auth.test's, known once per workspace), not asked for per answer.
 *
 * An answer whose instance died is finished by another in the same message: the dead stream
 * is stopped, then the message edited (`resume`).
 */
import type { webApi } from '@slack/bolt';
import type { AttachedFile } from '../../conversation/attachments.js';
import type {
  Conversation,
  FinalReply,
  HandoverData,
  LiveReply,
  WorkingStage,
} from '../../conversation/conversation.js';
import { strings } from '../../conversation/strings.js';
import type { Turn } from '../../core/types.js';
import type { Logger } from '../../log.js';
import { slackNeutralizer, slackPlainText } from '../../render/slack-text.js';
import { safeCut, splitMarkdown } from '../../render/split-markdown.js';
import { slackAudience } from './audience.js';
import { feedbackBlock, markdownBlock, sourcesBlock, toMrkdwn } from './format.js';
import { ANSWER_EVENT } from './history.js';
import { messageLink } from './workspace-links.js';

type WebClient = webApi.WebClient;

/** Where an answer goes in Slack. */
export interface SlackTarget {
  readonly channel: string;
  /** Thread to answer in; absent for a DM answered in place. */
  readonly threadTs?: string;
  readonly userId: string;
  readonly teamId?: string;
  /**
   * The Enterprise Grid organisation whose org-wide installation the request came through
   * (see authorisedInstallation): where another instance finds the token to finish its answer.
   */
  readonly orgInstall?: string;
  /**
   * The asker's own workspace, where it is not the bot's (a channel shared with another
   * organisation): the team chat.startStream streams to. Never a tenant: `teamId` is that.
   */
  readonly recipientTeamId?: string;
}

export interface SlackPacing {
  /** Minimum time between chat.update edits of one message (Slack allows about one a second). */
  readonly editIntervalMs?: number;
  /** Minimum time between chat.appendStream calls. */
  readonly appendIntervalMs?: number;
  /**
   * How long the reply waits for its first text before it opens without it, as the sign that
   * the bot is working (outside assistant threads, whose status line is that sign).
   */
  readonly firstTextWaitMs?: number;
  /** Milliseconds since the epoch, for the edit pace (tests). */
  readonly now?: () => number;
}

const DEFAULT_FIRST_TEXT_WAIT_MS = 1_000;

/** Workspaces where chat.startStream is refused, so later answers go straight to messages. */
export interface StreamingSupport {
  refused(teamId: string | undefined): boolean;
  refuse(teamId: string | undefined): void;
}

export function streamingSupport(): StreamingSupport {
  const refused = new Set<string>();
  return {
    refused: (teamId) => refused.has(teamId ?? ''),
    refuse: (teamId) => void refused.add(teamId ?? ''),
  };
}

/** Errors that mean this workspace (or app) cannot stream at all, as opposed to this once. */
const STREAMING_UNAVAILABLE = new Set([
  'unknown_method',
  'feature_not_enabled',
  'method_deprecated',
  'not_allowed_token_type',
]);

/** Longest text per message in the chat.update fallback (Slack truncates `text` at 4,000). */
export const MESSAGE_LIMIT = 3_500;

/** Slack's limit on one call's `markdown_text` (chat.startStream, appendStream, stopStream). */
export const STREAM_TEXT_LIMIT = 12_000;

/** `text` in consecutive pieces of at most `limit` characters, none splitting a character or entity. */
function inPieces(text: string, limit: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    const at = safeCut(rest, limit);
    pieces.push(rest.slice(0, at));
    rest = rest.slice(at);
  }
  if (rest) pieces.push(rest);
  return pieces;
}
const PLACEHOLDER = `_${strings.working}_`;

function errorCode(error: unknown): string {
  return (error as { data?: { error?: string } }).data?.error ?? (error as Error).message;
}

function finalBlocks(final: FinalReply, askHuman: boolean) {
  return [
    sourcesBlock(final.sources, final.alsoSearched),
    final.feedbackId ? feedbackBlock(final.feedbackId, { askHuman }) : undefined,
  ].filter((block) => block !== undefined);
}

function answerMetadata(final: FinalReply) {
  return { event_type: ANSWER_EVENT, event_payload: { question_id: final.feedbackId ?? '' } };
}

/** The text a failure adds under what was written. */
function withNotice(text: string, notice: string | undefined): string {
  const warning = notice ? `:warning: ${notice}` : '';
  return `${text}${text && warning ? '\n\n' : ''}${warning}`;
}

/** A reply once its message exists: new text appended, then the end. */
interface OpenReply {
  append(piece: string): Promise<void>;
  finish(final: FinalReply): Promise<void>;
  /** Ends the message with `notice` under what it shows, when the answer cannot be finished. */
  abandon(notice: string): Promise<void>;
}

/** A message opened with chat.startStream: only new text is sent. */
function streamedMessage(
  client: WebClient,
  target: SlackTarget,
  ts: string,
  options: { askHuman: boolean; startedWithText: boolean },
): OpenReply {
  const { askHuman } = options;
  let hasText = options.startedWithText;
  const append = async (piece: string) => {
    hasText ||= piece !== '';
    // A model writing fast between two appends can pass the per-call limit.
    for (const part of inPieces(piece, STREAM_TEXT_LIMIT)) {
      await client.chat.appendStream({ channel: target.channel, ts, markdown_text: part });
    }
  };
  return {
    append,
    async finish(final) {
      const parts = inPieces(withNotice(final.text.slice(final.written), final.notice), STREAM_TEXT_LIMIT);
      const last = parts.pop();
      for (const part of parts) await append(part);
      const blocks = finalBlocks(final, askHuman);
      await client.chat.stopStream({
        channel: target.channel,
        ts,
        ...(last ? { markdown_text: last } : {}),
        ...(blocks.length > 0 ? { blocks } : {}),
        ...(final.text ? { metadata: answerMetadata(final) } : {}),
      });
    },
    async abandon(notice) {
      await client.chat.stopStream({
        channel: target.channel,
        ts,
        markdown_text: `${hasText ? '\n\n' : ''}${withNotice('', notice)}`,
      });
    },
  };
}

/**
 * A message posted with chat.postMessage and edited with chat.update at most once per
 * `intervalMs` (the final edit is never held back); a long answer continues in further messages.
 */
function editedMessage(
  client: WebClient,
  target: SlackTarget,
  ts: string,
  shown: string,
  options: {
    intervalMs: number;
    now: () => number;
    askHuman: boolean;
    /** The first new text is shown at once (it replaces another instance's half-written text). */
    editAtOnce?: boolean;
  },
): OpenReply {
  const thread = target.threadTs ? { thread_ts: target.threadTs } : {};
  let text = shown;
  let lastEdit = options.editAtOnce ? Number.NEGATIVE_INFINITY : options.now();
  return {
    async append(piece) {
      text += piece;
      if (options.now() - lastEdit < options.intervalMs) return;
      lastEdit = options.now();
      const visible = text.length > MESSAGE_LIMIT ? `${text.slice(0, safeCut(text, MESSAGE_LIMIT))}…` : text;
      await client.chat.update({
        channel: target.channel,
        ts,
        text: toMrkdwn(visible),
        blocks: [markdownBlock(visible)],
      });
    },
    async finish(final) {
      const parts = final.text ? splitMarkdown(final.text, MESSAGE_LIMIT) : [];
      if (final.notice) parts.push(`:warning: ${final.notice}`);
      const extra = finalBlocks(final, options.askHuman);
      const metadata = final.text ? { metadata: answerMetadata(final) } : {};
      const blocksFor = (part: string, last: boolean) =>
        last ? [markdownBlock(part), ...extra] : [markdownBlock(part)];
      const [first = '', ...rest] = parts;
      await client.chat.update({
        channel: target.channel,
        ts,
        text: toMrkdwn(first),
        blocks: blocksFor(first, rest.length === 0),
        ...metadata,
      });
      for (const [i, part] of rest.entries()) {
        await client.chat.postMessage({
          channel: target.channel,
          ...thread,
          text: toMrkdwn(part),
          blocks: blocksFor(part, i === rest.length - 1),
          ...metadata,
        });
      }
    },
    async abandon(notice) {
      const visible = withNotice(
        text.length > MESSAGE_LIMIT ? text.slice(0, safeCut(text, MESSAGE_LIMIT)) : text,
        notice,
      );
      await client.chat.update({
        channel: target.channel,
        ts,
        text: toMrkdwn(visible),
        blocks: [markdownBlock(visible)],
      });
    },
  };
}

interface ReplyOptions {
  readonly pacing: SlackPacing;
  readonly log: Logger;
  readonly askHuman: boolean;
  readonly streaming: StreamingSupport;
  /** Open without text after `firstTextWaitMs` (no status line shows the bot at work). */
  readonly signOfLife: boolean;
}

/** The reply being written, which a failure to deliver the answer can still end. */
interface PendingReply extends LiveReply {
  /**
   * The answer will not be finished: stops waiting for its first text and, when its message
   * exists, ends it with `notice`. False when there is no message to end (post one instead).
   */
  abandon(notice: string): Promise<boolean>;
}

/**
 * The reply, opened lazily: with its first text, or empty once the wait for it has run out, or
 * (an answer with no text) not at all until its end, when it is posted whole.
 */
function lazyReply(client: WebClient, target: SlackTarget, options: ReplyOptions): PendingReply {
  const { pacing, log, askHuman, streaming } = options;
  const now = pacing.now ?? Date.now;
  const editIntervalMs = pacing.editIntervalMs ?? 1_000;
  const canStream = Boolean(target.threadTs) && !streaming.refused(target.teamId);
  const thread = target.threadTs ? { thread_ts: target.threadTs } : {};
  let opened: Promise<OpenReply> | undefined;
  let ended = false;
  /** The message once it exists, for another instance to finish the answer in. */
  let location: SlackResumedReply | undefined;
  let located: (() => void) | undefined;

  const postFirst = async (first: string): Promise<OpenReply> => {
    // The message shows what fits; the rest follows in its edits and further messages.
    const visible =
      first.length > MESSAGE_LIMIT ? `${first.slice(0, safeCut(first, MESSAGE_LIMIT))}…` : first;
    const posted = await client.chat.postMessage({
      channel: target.channel,
      ...thread,
      ...(visible ? { text: toMrkdwn(visible), blocks: [markdownBlock(visible)] } : { text: PLACEHOLDER }),
    });
    location = { ts: posted.ts!, streaming: false };
    located?.();
    return editedMessage(client, target, posted.ts!, first, { intervalMs: editIntervalMs, now, askHuman });
  };
  const open = (first: string): Promise<OpenReply> => {
    clearTimeout(waiting);
    opened ??= (async () => {
      if (canStream) {
        try {
          // Opened with what one call may carry; the rest is appended at once.
          const [head = '', ...rest] = inPieces(first, STREAM_TEXT_LIMIT);
          const started = await client.chat.startStream({
            channel: target.channel,
            thread_ts: target.threadTs!,
            recipient_user_id: target.userId,
            ...((target.recipientTeamId ?? target.teamId)
              ? { recipient_team_id: target.recipientTeamId ?? target.teamId }
              : {}),
            ...(head ? { markdown_text: head } : {}),
          });
          if (started.ts) {
            location = { ts: started.ts, streaming: true };
            located?.();
            const stream = streamedMessage(client, target, started.ts, {
              askHuman,
              startedWithText: head !== '',
            });
            for (const part of rest) await stream.append(part);
            return stream;
          }
        } catch (error) {
          const code = errorCode(error);
          if (STREAMING_UNAVAILABLE.has(code)) streaming.refuse(target.teamId);
          log.debug({ reason: code }, 'chat streaming refused; posting and editing a message instead');
        }
      }
      return postFirst(first);
    })();
    return opened;
  };
  const waiting = options.signOfLife
    ? setTimeout(
        () => void open('').catch(() => undefined),
        pacing.firstTextWaitMs ?? DEFAULT_FIRST_TEXT_WAIT_MS,
      )
    : undefined;
  waiting?.unref();

  return {
    writes: 'append',
    writeIntervalMs: canStream ? (pacing.appendIntervalMs ?? 400) : editIntervalMs,
    location: () => (location ? { ...location } : undefined),
    onLocated(listener) {
      located = listener;
    },
    async write(piece) {
      if (!opened) {
        await open(piece);
        return;
      }
      await (await opened).append(piece);
    },
    async finish(final) {
      clearTimeout(waiting);
      ended = true;
      if (opened) {
        await (await opened).finish(final);
        return;
      }
      if (final.text) {
        // The whole answer at once, never written in pieces: opened with all of it.
        await (await open(final.text)).finish({ ...final, written: final.text.length });
        return;
      }
      // No text (a refusal, a failure before any): the notice is the whole reply, one message.
      if (final.notice) {
        await client.chat.postMessage({
          channel: target.channel,
          ...thread,
          markdown_text: withNotice('', final.notice),
        });
      }
    },
    async abandon(notice) {
      clearTimeout(waiting);
      if (!opened || ended) return false;
      ended = true;
      await (await opened).abandon(notice);
      return true;
    },
  };
}

/**
 * An answer another instance began in message `ts` and could not finish: its stream, if Slack
 * has not closed it yet, is stopped (an open stream refuses chat.update with
 * streaming_state_conflict; a closed one refuses chat.stopStream with
 * message_not_in_streaming_state, which is fine), then the message is edited with chat.update,
 * its half-written text replaced from the first write on.
 */
async function resumedReply(
  client: WebClient,
  target: SlackTarget,
  resume: SlackResumedReply,
  options: Omit<ReplyOptions, 'streaming' | 'signOfLife'>,
): Promise<PendingReply> {
  const { pacing, log, askHuman } = options;
  if (resume.streaming) {
    await client.chat.stopStream({ channel: target.channel, ts: resume.ts }).catch((error: unknown) => {
      log.debug({ reason: errorCode(error) }, 'the stream of the answer taken over was already closed');
    });
  }
  const intervalMs = pacing.editIntervalMs ?? 1_000;
  const message = editedMessage(client, target, resume.ts, '', {
    intervalMs,
    now: pacing.now ?? Date.now,
    askHuman,
    editAtOnce: true,
  });
  let ended = false;
  return {
    writes: 'append',
    writeIntervalMs: intervalMs,
    location: () => ({ ts: resume.ts, streaming: false }),
    write: (piece) => message.append(piece),
    async finish(final) {
      ended = true;
      await message.finish(final);
    },
    async abandon(notice) {
      if (ended) return false;
      ended = true;
      await message.abandon(notice);
      return true;
    },
  };
}

/**
 * What another instance needs, besides the target, to finish an answer here: the question's
 * message (left out of the history) and where the history comes from.
 */
export interface SlackHandover {
  readonly questionTs?: string;
  readonly history: 'thread' | 'dm' | 'none';
}

/** The message of an answer another instance began (its reply's `location()`). */
export interface SlackResumedReply {
  readonly ts: string;
  /** Opened with chat.startStream (else a placeholder edited with chat.update). */
  readonly streaming: boolean;
}

export interface SlackConversationInput {
  readonly client: WebClient;
  readonly target: SlackTarget;
  readonly history: () => Promise<Turn[]>;
  readonly pacing: SlackPacing;
  readonly log: Logger;
  /** The bot's assistant thread: a status line per stage, cleared once the answer is posted. */
  readonly assistantThread?: boolean;
  /** Files attached to the question and its thread. */
  readonly attachments?: () => Promise<readonly AttachedFile[]>;
  /** Offer "Ask a human" under the answer (a group to mention is configured, others can see it). */
  readonly askHuman?: boolean;
  /** Which workspaces refuse streaming (shared by the adapter's conversations). */
  readonly streaming?: StreamingSupport;
  /** The workspace's URL, to link the answer record to the question without a Web API call. */
  readonly workspaceUrl?: () => Promise<string | undefined>;
  /** Lets another instance finish the answer if this one dies (see `Conversation.handover`). */
  readonly handover?: SlackHandover;
  /** Writes into this message instead of a new one: an answer another instance began. */
  readonly resume?: SlackResumedReply;
}

/** The handover data of a Slack conversation: ids only, never the workspace's token. */
export function slackHandoverData(
  target: SlackTarget,
  handover: SlackHandover,
  assistantThread: boolean,
): HandoverData {
  return {
    channel: target.channel,
    userId: target.userId,
    history: handover.history,
    ...(target.threadTs ? { threadTs: target.threadTs } : {}),
    ...(target.teamId ? { teamId: target.teamId } : {}),
    // An org-wide installation is found by its organisation, not by a workspace.
    ...(target.orgInstall ? { enterpriseId: target.orgInstall, enterpriseInstall: true } : {}),
    ...(handover.questionTs ? { questionTs: handover.questionTs } : {}),
    ...(assistantThread ? { assistantThread: true } : {}),
  };
}

/** The assistant status for each stage of an answer ("<app> is searching the knowledge base…"). */
const ASSISTANT_STATUS: Record<WorkingStage, string> = {
  condensing: strings.statusCondensing,
  retrieving: strings.statusSearching,
  generating: strings.statusWriting,
  waiting: strings.statusWaiting,
};

export function slackConversation(input: SlackConversationInput): Conversation {
  const { client, target, pacing, log } = input;
  const thread = target.threadTs ? { thread_ts: target.threadTs } : {};
  const assistantThread = Boolean(input.assistantThread && target.threadTs);
  let shownStatus: string | undefined;
  let pending: PendingReply | undefined;
  const clearStatus = async () => {
    if (!assistantThread || !shownStatus) return;
    shownStatus = undefined;
    await client.assistant.threads
      .setStatus({ channel_id: target.channel, thread_ts: target.threadTs!, status: '' })
      .catch((error: unknown) => log.debug({ reason: errorCode(error) }, 'could not clear the status'));
  };
  return {
    place: {
      platform: 'slack',
      channelId: target.channel,
      ...(target.threadTs ? { threadId: target.threadTs } : {}),
      ...(target.teamId ? { workspaceId: target.teamId } : {}),
      direct: target.channel.startsWith('D'),
    },
    asker: { id: target.userId },
    presenter: {
      neutralizer: slackNeutralizer,
      plainText: slackPlainText,
      writeIntervalMs: pacing.editIntervalMs ?? 1_000,
    },
    history: input.history,
    ...(input.attachments ? { attachments: input.attachments } : {}),
    ...(input.handover
      ? { handover: () => slackHandoverData(target, input.handover!, input.assistantThread ?? false) }
      : {}),
    openReply: async () => {
      const options = {
        pacing,
        log,
        askHuman: input.askHuman ?? false,
        streaming: input.streaming ?? streamingSupport(),
        signOfLife: !assistantThread,
      };
      const reply = input.resume
        ? await resumedReply(client, target, input.resume, options)
        : lazyReply(client, target, options);
      pending = reply;
      if (!assistantThread) return reply;
      return {
        ...reply,
        write: (text) => reply.write(text),
        async finish(final) {
          await reply.finish(final);
          await clearStatus();
        },
      };
    },
    // Only assistant threads have a status line (Slack refuses it elsewhere, and a refused call
    // still costs one): there it follows each stage; elsewhere the opened reply is the sign.
    async showWorking(stage) {
      if (!assistantThread) return;
      const status = ASSISTANT_STATUS[stage];
      // One call per change of wording, not one per stage of the core.
      if (status === shownStatus) return;
      shownStatus = status;
      await client.assistant.threads.setStatus({
        channel_id: target.channel,
        thread_ts: target.threadTs!,
        status,
      });
    },
    async notify(text) {
      // A reply already on screen (an answer that could not be finished) ends with the notice.
      if (!(await pending?.abandon(text))) {
        await client.chat.postMessage({ channel: target.channel, ...thread, text: `:warning: ${text}` });
      }
      await clearStatus();
    },
    async permalink() {
      if (!target.threadTs) return undefined;
      const url = await input.workspaceUrl?.().catch(() => undefined);
      if (url) return messageLink(url, target.channel, target.threadTs);
      const found = await client.chat.getPermalink({ channel: target.channel, message_ts: target.threadTs });
      return found.permalink;
    },
    audience: () => slackAudience(client, target.channel, log),
  };
}
