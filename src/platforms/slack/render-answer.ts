/**
 * Streams one answer into a Slack thread. Slack's chat streaming API (startStream →
 * appendStream → stopStream) is used where the workspace allows it; where it is refused
 * the bot posts a placeholder and edits it with chat.update at most once a second. The
 * answer ends with numbered sources and feedback buttons, or with the failure's message.
 */
import type { webApi } from '@slack/bolt';
import type { Failure } from '../../core/failures.js';
import type { AnswerEvent, Source } from '../../core/types.js';
import type { Logger } from '../../log.js';
import { SafeStream } from '../../render/safe-stream.js';
import { slackNeutralizer } from '../../render/slack-text.js';
import { safeCut, splitMarkdown } from '../../render/split-markdown.js';
import { type EditClock, ThrottledEditor } from '../../render/throttled-edits.js';
import { feedbackBlock, markdownBlock, sourcesBlock, toMrkdwn } from './format.js';
import { ANSWER_EVENT } from './history.js';

type WebClient = webApi.WebClient;

export interface AnswerTarget {
  readonly channel: string;
  /** Thread to answer in; absent for a DM answered in place. */
  readonly threadTs?: string;
  readonly userId: string;
  readonly teamId?: string;
}

export interface RenderOptions {
  readonly questionId: string;
  readonly log: Logger;
  /** Minimum time between chat.update edits of one message (Slack allows about one a second). */
  readonly editIntervalMs?: number;
  /** Minimum time between chat.appendStream calls. */
  readonly appendIntervalMs?: number;
  /** Time source for the edit throttle (tests). */
  readonly clock?: EditClock;
}

/** Longest text per message in the chat.update fallback (Slack truncates `text` at 4,000). */
export const MESSAGE_LIMIT = 3_500;
const PLACEHOLDER = '_Looking through the knowledge base…_';
const WORKING_STATUS = 'is looking through the knowledge base…';

function errorCode(error: unknown): string {
  return (error as { data?: { error?: string } }).data?.error ?? (error as Error).message;
}

/** The message an answer is streamed into, whichever API carries it. */
interface LiveMessage {
  readonly ts: string;
  readonly streaming: boolean;
}

async function openMessage(client: WebClient, target: AnswerTarget, log: Logger): Promise<LiveMessage> {
  const thread = target.threadTs ? { thread_ts: target.threadTs } : {};
  if (target.threadTs) {
    try {
      const started = await client.chat.startStream({
        channel: target.channel,
        thread_ts: target.threadTs,
        recipient_user_id: target.userId,
        ...(target.teamId ? { recipient_team_id: target.teamId } : {}),
      });
      if (started.ts) return { ts: started.ts, streaming: true };
    } catch (error) {
      log.debug({ reason: errorCode(error) }, 'chat streaming refused; editing a placeholder instead');
    }
  }
  const posted = await client.chat.postMessage({ channel: target.channel, ...thread, text: PLACEHOLDER });
  return { ts: posted.ts!, streaming: false };
}

/** Edits and the final rendering for one opened message. */
function liveRenderer(
  client: WebClient,
  target: AnswerTarget,
  message: LiveMessage,
  sourcesOf: () => readonly Source[],
  options: RenderOptions,
) {
  const { questionId } = options;
  let appended = 0;
  const editor = new ThrottledEditor(
    async (latest) => {
      if (message.streaming) {
        const piece = latest.slice(appended);
        appended = latest.length;
        if (piece)
          await client.chat.appendStream({ channel: target.channel, ts: message.ts, markdown_text: piece });
      } else {
        const visible =
          latest.length > MESSAGE_LIMIT ? `${latest.slice(0, safeCut(latest, MESSAGE_LIMIT))}…` : latest;
        await client.chat.update({
          channel: target.channel,
          ts: message.ts,
          text: toMrkdwn(visible),
          blocks: [markdownBlock(visible)],
        });
      }
    },
    {
      intervalMs: message.streaming ? (options.appendIntervalMs ?? 400) : (options.editIntervalMs ?? 1_000),
      ...(options.clock ? { clock: options.clock } : {}),
    },
  );

  /** `answer` is neutralised and extends every text given to the editor. */
  const finish = async (answer: string, failure?: Failure) => {
    // The final write below carries the rest of the text, the sources and the buttons, at
    // once: the throttle spaces streaming edits, it never delays the end of an answer.
    await editor.settle();
    const notice = failure ? `:warning: ${failure.message}` : '';
    const extra = [
      sourcesBlock(answer ? sourcesOf() : []),
      answer && !failure ? feedbackBlock(questionId) : undefined,
    ].filter((block) => block !== undefined);
    const metadata = { event_type: ANSWER_EVENT, event_payload: { question_id: questionId } };
    if (message.streaming) {
      const tail = answer.slice(appended);
      await client.chat.stopStream({
        channel: target.channel,
        ts: message.ts,
        ...(tail || notice ? { markdown_text: `${tail}${answer && notice ? '\n\n' : ''}${notice}` } : {}),
        ...(extra.length > 0 ? { blocks: extra } : {}),
        ...(answer ? { metadata } : {}),
      });
      return;
    }
    const parts = answer ? splitMarkdown(answer, MESSAGE_LIMIT) : [];
    if (notice) parts.push(notice);
    const [first = notice, ...rest] = parts;
    const thread = target.threadTs ? { thread_ts: target.threadTs } : {};
    const blocksFor = (part: string, last: boolean) =>
      last ? [markdownBlock(part), ...extra] : [markdownBlock(part)];
    await client.chat.update({
      channel: target.channel,
      ts: message.ts,
      text: toMrkdwn(first),
      blocks: blocksFor(first, rest.length === 0),
      ...(answer ? { metadata } : {}),
    });
    for (const [i, part] of rest.entries()) {
      await client.chat.postMessage({
        channel: target.channel,
        ...thread,
        text: toMrkdwn(part),
        blocks: blocksFor(part, i === rest.length - 1),
        ...(answer ? { metadata } : {}),
      });
    }
  };

  return { editor, finish };
}

export async function renderAnswer(
  client: WebClient,
  target: AnswerTarget,
  events: AsyncIterable<AnswerEvent>,
  options: RenderOptions,
): Promise<void> {
  const { log } = options;
  // In assistant threads this shows a live status at once; elsewhere Slack refuses it and
  // the streaming message or placeholder below is the sign of life.
  if (target.threadTs) {
    client.assistant.threads
      .setStatus({ channel_id: target.channel, thread_ts: target.threadTs, status: WORKING_STATUS })
      .catch(() => undefined);
  }
  // Slack creates the message while the core retrieves: neither waits for the other.
  const opening = openMessage(client, target, log);
  opening.catch(() => undefined);
  let sources: readonly Source[] = [];
  // Only text that can no longer turn into a mention is shown; the rest waits for more.
  const stream = new SafeStream(slackNeutralizer);
  let shown = '';
  let live: ReturnType<typeof liveRenderer> | undefined;
  const rendering = async () => {
    live ??= liveRenderer(client, target, await opening, () => sources, options);
    return live;
  };
  /** Everything the model wrote, neutralised: what was shown plus what was held back. */
  const whole = (text: string | undefined) => {
    const { rest, diverged } = stream.finish(text);
    if (diverged) log.warn('the final answer text differs from the streamed text; keeping what streamed');
    shown += rest;
    return shown;
  };

  for await (const event of events) {
    if (event.type === 'sources') sources = event.sources;
    else if (event.type === 'delta') {
      const ready = stream.push(event.text);
      if (!ready) continue;
      shown += ready;
      (await rendering()).editor.update(shown);
    } else if (event.type === 'done') {
      await (await rendering()).finish(whole(event.text));
      log.info(
        { mode: event.mode, degraded: event.degraded, ms: Math.round(event.timings.totalMs) },
        'answered',
      );
      return;
    } else if (event.type === 'failure') {
      await (await rendering()).finish(whole(event.failure.partialText), event.failure);
      log.info({ kind: event.failure.kind }, 'answered with a failure message');
      return;
    }
  }
}
