/**
 * Streams one answer into Discord: a typing indicator at once, then edits of the answer
 * message no more than once a second, the final edit carrying the sources embed and the
 * feedback buttons. Answers over 2,000 characters continue in further messages, split on
 * paragraph boundaries with code fences closed and reopened. Every message disables pings.
 */
import {
  type ActionRowBuilder,
  type APIEmbed,
  DiscordAPIError,
  type Message,
  type MessageActionRowComponentBuilder,
  type SendableChannels,
} from 'discord.js';
import type { Failure } from '../../core/failures.js';
import type { AnswerEvent, Source } from '../../core/types.js';
import type { Logger } from '../../log.js';
import { discordNeutralizer } from '../../render/discord-text.js';
import { SafeStream } from '../../render/safe-stream.js';
import { safeCut, splitMarkdown } from '../../render/split-markdown.js';
import { type EditClock, ThrottledEditor } from '../../render/throttled-edits.js';
import { feedbackRow, MESSAGE_LIMIT, NO_PINGS, sourcesEmbed } from './format.js';

export interface MessagePayload {
  readonly content: string;
  readonly embeds?: APIEmbed[];
  readonly components?: ActionRowBuilder<MessageActionRowComponentBuilder>[];
}

/** Where an answer is written: an interaction's reply, or messages in a channel or thread. */
export interface ReplySurface {
  /** Creates the answer message, or edits it once it exists. */
  writeFirst(payload: MessagePayload): Promise<void>;
  /** Posts a further message (continuations of a long answer). */
  post(payload: MessagePayload): Promise<void>;
  /** Shows that the bot is working; called again while it waits. */
  typing(): Promise<void>;
}

/** Interaction tokens live 15 minutes; after that the webhook is gone. */
const EXPIRED_TOKEN_CODES = new Set([50027, 10015]);

export function isExpiredInteraction(error: unknown): boolean {
  return error instanceof DiscordAPIError && EXPIRED_TOKEN_CODES.has(Number(error.code));
}

/** A surface writing into a channel or thread: the first write sends, later ones edit. */
export function channelSurface(channel: SendableChannels, replyTo?: Message): ReplySurface {
  let message: Message | undefined;
  return {
    async writeFirst(payload) {
      if (message) {
        message = await message.edit({ ...payload, allowedMentions: NO_PINGS });
        return;
      }
      message = replyTo
        ? await replyTo.reply({ ...payload, allowedMentions: NO_PINGS })
        : await channel.send({ ...payload, allowedMentions: NO_PINGS });
    },
    async post(payload) {
      await channel.send({ ...payload, allowedMentions: NO_PINGS });
    },
    async typing() {
      await channel.sendTyping();
    },
  };
}

export interface RenderOptions {
  readonly questionId: string;
  readonly log: Logger;
  /** Minimum time between edits of one message (Discord allows about five per five seconds). */
  readonly editIntervalMs?: number;
  /** Time source for the edit throttle (tests). */
  readonly clock?: EditClock;
}

const TYPING_REFRESH_MS = 8_000;

export async function renderAnswer(
  surface: ReplySurface,
  events: AsyncIterable<AnswerEvent>,
  options: RenderOptions,
): Promise<void> {
  const { log, questionId } = options;
  let sources: readonly Source[] = [];
  // Only text that can no longer turn into a mention is shown; the rest waits for more.
  const stream = new SafeStream(discordNeutralizer);
  let shown = '';
  /** Everything the model wrote, neutralised: what was shown plus what was held back. */
  const whole = (text: string | undefined) => {
    const { rest, diverged } = stream.finish(text);
    if (diverged) log.warn('the final answer text differs from the streamed text; keeping what streamed');
    shown += rest;
    return shown;
  };
  // Discord's typing indicator lasts about ten seconds: refresh it until text appears.
  await surface.typing().catch(() => undefined);
  const typing = setInterval(() => void surface.typing().catch(() => undefined), TYPING_REFRESH_MS);
  const editor = new ThrottledEditor(
    async (latest) => {
      clearInterval(typing);
      const visible =
        latest.length > MESSAGE_LIMIT ? `${latest.slice(0, safeCut(latest, MESSAGE_LIMIT - 1))}…` : latest;
      await surface.writeFirst({ content: visible });
    },
    { intervalMs: options.editIntervalMs ?? 1_000, ...(options.clock ? { clock: options.clock } : {}) },
  );

  /** `answer` is neutralised. The final writes go out at once: no waiting out the throttle. */
  const finish = async (answer: string, failure?: Failure) => {
    clearInterval(typing);
    await editor.settle();
    const notice = failure ? `⚠️ ${failure.message}` : '';
    const body = [answer.trim(), notice].filter(Boolean).join('\n\n');
    const parts = splitMarkdown(body, MESSAGE_LIMIT);
    const embed = answer ? sourcesEmbed(sources) : undefined;
    const extras: Omit<MessagePayload, 'content'> = {
      embeds: embed ? [embed] : [],
      components: answer && !failure ? [feedbackRow(questionId)] : [],
    };
    for (const [i, part] of parts.entries()) {
      const last = i === parts.length - 1;
      const payload: MessagePayload = last ? { content: part, ...extras } : { content: part };
      if (i === 0) await surface.writeFirst(payload);
      else await surface.post(payload);
    }
  };

  try {
    for await (const event of events) {
      if (event.type === 'sources') sources = event.sources;
      else if (event.type === 'delta') {
        const ready = stream.push(event.text);
        if (!ready) continue;
        shown += ready;
        editor.update(shown);
      } else if (event.type === 'done') {
        await finish(whole(event.text));
        log.info(
          { mode: event.mode, degraded: event.degraded, ms: Math.round(event.timings.totalMs) },
          'answered',
        );
        return;
      } else if (event.type === 'failure') {
        await finish(whole(event.failure.partialText), event.failure);
        log.info({ kind: event.failure.kind }, 'answered with a failure message');
        return;
      }
    }
  } finally {
    clearInterval(typing);
    editor.cancel();
  }
}
