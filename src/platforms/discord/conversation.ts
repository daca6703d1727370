/**
 * A Discord thread, channel, DM or interaction reply as a conversation: discord.js's
 * primitives for the shared layer. The answer message is created by the first write and
 * edited after; the end carries the sources embed and feedback buttons, and answers over
 * 2,000 characters continue in further messages. Every message disables pings.
 */
import {
  type ActionRowBuilder,
  type APIEmbed,
  DiscordAPIError,
  type Message,
  type MessageActionRowComponentBuilder,
  type SendableChannels,
} from 'discord.js';
import type { AttachedFile } from '../../conversation/attachments.js';
import type {
  Audience,
  Conversation,
  FinalReply,
  HandoverData,
  LiveReply,
} from '../../conversation/conversation.js';
import type { Asker, Place, Turn } from '../../core/types.js';
import { discordNeutralizer, discordPlainText } from '../../render/discord-text.js';
import { safeCut, splitMarkdown } from '../../render/split-markdown.js';
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
  /** Posts a further message (continuations of a long answer, notices). */
  post(payload: MessagePayload): Promise<void>;
  /** Shows that the bot is working. */
  typing(): Promise<void>;
  /** The answer's message once it exists, for another instance to edit if this one dies. */
  location?(): HandoverData | undefined;
}

/** Where a message is, as a handover records it. */
export function messageLocation(message: Pick<Message, 'id' | 'channelId'>): HandoverData {
  return { channelId: message.channelId, messageId: message.id };
}

/** A channel surface whose answer message, once written, can be found (to start a thread on it). */
export interface ChannelSurface extends ReplySurface {
  message(): Message | undefined;
}

/** Interaction tokens live 15 minutes; after that the webhook is gone. */
const EXPIRED_TOKEN_CODES = new Set([50027, 10015]);

export function isExpiredInteraction(error: unknown): boolean {
  return error instanceof DiscordAPIError && EXPIRED_TOKEN_CODES.has(Number(error.code));
}

/**
 * A surface writing into a channel or thread: the first write sends, later ones edit. With
 * `existing` (an answer another instance began) every write edits that message.
 */
export function channelSurface(
  channel: SendableChannels,
  replyTo?: Message,
  existing?: Message,
): ChannelSurface {
  let message: Message | undefined = existing;
  return {
    message: () => message,
    location: () => (message ? messageLocation(message) : undefined),
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

/** Discord's typing indicator lasts about ten seconds: it is refreshed until text appears. */
const TYPING_REFRESH_MS = 8_000;

function surfaceReply(surface: ReplySurface, stopTyping: () => void, askHuman: boolean): LiveReply {
  return {
    writes: 'replace',
    location: () => surface.location?.(),
    async write(latest) {
      stopTyping();
      const visible =
        latest.length > MESSAGE_LIMIT ? `${latest.slice(0, safeCut(latest, MESSAGE_LIMIT - 1))}…` : latest;
      await surface.writeFirst({ content: visible });
    },
    async finish(final: FinalReply) {
      stopTyping();
      const notice = final.notice ? `⚠️ ${final.notice}` : '';
      const parts = splitMarkdown([final.text.trim(), notice].filter(Boolean).join('\n\n'), MESSAGE_LIMIT);
      const embed = sourcesEmbed(final.sources, final.alsoSearched);
      const extras: Omit<MessagePayload, 'content'> = {
        embeds: embed ? [embed] : [],
        components: final.feedbackId ? [feedbackRow(final.feedbackId, { askHuman })] : [],
      };
      for (const [i, part] of parts.entries()) {
        const payload: MessagePayload =
          i === parts.length - 1 ? { content: part, ...extras } : { content: part };
        if (i === 0) await surface.writeFirst(payload);
        else await surface.post(payload);
      }
    },
  };
}

/**
 * What another instance needs, besides the place, to finish an answer here (ids only; never an
 * interaction's token, so a private reply cannot be finished elsewhere and has no handover).
 */
export interface DiscordHandover {
  /** Where the answer is written: a thread, a channel or a DM. */
  readonly replyChannelId: string;
  /** The question's message: history is read before it, its files with it. */
  readonly questionMessageId?: string;
  /** The channel of the question's message, where it is not the reply's (a mention that started a thread). */
  readonly questionChannelId?: string;
  /** `channel`: the messages before the question are the history (a thread, a DM); `none`: there is none. */
  readonly history: 'channel' | 'none';
  /** The message the answer replies to, when it is not in a thread of its own. */
  readonly replyTo?: string;
  /** After the answer, a thread for follow-ups is started on it with this name (/ask). */
  readonly threadName?: string;
}

export interface DiscordConversationInput {
  readonly surface: ReplySurface;
  readonly place: Omit<Place, 'platform'>;
  readonly asker: Asker;
  readonly history: () => Promise<Turn[]>;
  /** Minimum time between edits of one message (Discord allows about five per five seconds). */
  readonly editIntervalMs?: number;
  /** Files attached to the question and its thread. */
  readonly attachments?: () => Promise<readonly AttachedFile[]>;
  /** Offer "Ask a human" under the answer (a role to mention is configured, others can see it). */
  readonly askHuman?: boolean;
  /** A link to the answer, where the place alone does not give one (an /ask reply). */
  readonly permalink?: () => Promise<string | undefined>;
  /** Who can see the conversation (see audience.ts); absent: restricted. */
  readonly audience?: () => Audience;
  /** Lets another instance finish the answer if this one dies (see `Conversation.handover`). */
  readonly handover?: DiscordHandover;
}

/** The handover data of a Discord conversation: the place and the handover's ids. */
export function discordHandoverData(place: Omit<Place, 'platform'>, handover: DiscordHandover): HandoverData {
  const entries = Object.entries({ ...place, ...handover }).filter(
    ([, value]) => typeof value === 'string' || typeof value === 'boolean',
  );
  return Object.fromEntries(entries) as HandoverData;
}

export function discordConversation(input: DiscordConversationInput): Conversation {
  const { surface } = input;
  let typing: NodeJS.Timeout | undefined;
  let replied = false;
  const stopTyping = () => {
    replied = true;
    clearInterval(typing);
  };
  return {
    place: { platform: 'discord', ...input.place },
    asker: input.asker,
    presenter: {
      neutralizer: discordNeutralizer,
      plainText: discordPlainText,
      writeIntervalMs: input.editIntervalMs ?? 1_000,
    },
    history: input.history,
    ...(input.attachments ? { attachments: input.attachments } : {}),
    openReply: async () => surfaceReply(surface, stopTyping, input.askHuman ?? false),
    ...(input.handover ? { handover: () => discordHandoverData(input.place, input.handover!) } : {}),
    async showWorking() {
      if (typing || replied) return;
      typing = setInterval(() => void surface.typing().catch(() => undefined), TYPING_REFRESH_MS);
      typing.unref();
      await surface.typing();
    },
    async notify(text) {
      stopTyping();
      await surface.post({ content: `⚠️ ${text}` });
    },
    ...(input.audience ? { audience: async () => input.audience!() } : {}),
    // Discord's channel links are built from ids: the thread (or channel) in its server.
    async permalink() {
      if (input.permalink) return input.permalink();
      const where = input.place.threadId ?? input.place.channelId;
      if (!where) return undefined;
      return `https://discord.com/channels/${input.place.workspaceId ?? '@me'}/${where}`;
    },
  };
}
