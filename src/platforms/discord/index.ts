/**
 * The Discord front end on discord.js v14: /ask (deferred at once, streamed into the reply,
 * then a thread on the reply for follow-ups), @mentions (a thread on the user's message),
 * follow-ups in the bot's threads without a mention, and DMs answered in place.
 *
 * Intents are the minimum: Guilds (threads, channels), GuildMessages and MessageContent
 * (reading follow-ups that do not mention the bot), DirectMessages.
 */
import { randomUUID } from 'node:crypto';
import {
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  type Message,
  MessageFlags,
  Partials,
} from 'discord.js';
import type { Config } from '../../config.js';
import type { Answerer, Turn } from '../../core/types.js';
import { type Logger, silentLogger } from '../../log.js';
import type { EditClock } from '../../render/throttled-edits.js';
import { checkQuestion, DEFAULT_MAX_QUESTION_CHARS } from '../question.js';
import type { PlatformAdapter } from '../types.js';
import { FEEDBACK_PREFIX, NO_PINGS, stripMention, threadName } from './format.js';
import { channelHistory } from './history.js';
import { channelSurface, isExpiredInteraction, type ReplySurface, renderAnswer } from './render-answer.js';

export interface DiscordAdapterOptions {
  readonly config: NonNullable<Config['discord']>;
  readonly answerer: Answerer;
  readonly logger?: Logger;
  /** Longest question accepted (RAG_MAX_QUESTION_CHARS); checked before anything is posted. */
  readonly maxQuestionChars?: number;
  /** Render timing, for tests; the default respects Discord's edit rate limits. */
  readonly editIntervalMs?: number;
  readonly clock?: EditClock;
}

export const DISCORD_INTENTS = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildMessages,
  GatewayIntentBits.MessageContent,
  GatewayIntentBits.DirectMessages,
];

/** Discord error codes for "the bot lacks a permission here". */
const MISSING_PERMISSION_CODES = new Set([50001, 50013]);

function isMissingPermission(error: unknown): boolean {
  return error instanceof DiscordAPIError && MISSING_PERMISSION_CODES.has(Number(error.code));
}

/** Explains a failed login in terms of what to fix. */
function loginProblem(error: unknown): Error {
  const message = (error as Error).message ?? String(error);
  if (
    /TokenInvalid|invalid token|401|Authentication failed/i.test(message) ||
    (error as { code?: string }).code === 'TokenInvalid'
  ) {
    return new Error(
      'Discord rejected DISCORD_TOKEN: reset the bot token in the Developer Portal (Bot → Reset Token).',
    );
  }
  if (/disallowed intent|4014/i.test(message)) {
    return new Error(
      'Discord refused the Message Content intent: enable it under Developer Portal → Bot → Privileged Gateway Intents.',
    );
  }
  return new Error(`Cannot connect to Discord (${message}).`);
}

export function createDiscordAdapter(options: DiscordAdapterOptions): PlatformAdapter {
  const { config, answerer } = options;
  const maxQuestionChars = options.maxQuestionChars ?? DEFAULT_MAX_QUESTION_CHARS;
  const log = (options.logger ?? silentLogger).child({ platform: 'discord' });
  const client = new Client({
    intents: DISCORD_INTENTS,
    // DM channels are not cached until used; partials let their first message through.
    partials: [Partials.Channel],
    allowedMentions: NO_PINGS,
    ...(config.apiURL ? { rest: { api: config.apiURL } } : {}),
  });
  let ready = false;

  const allowed = (channelId: string, parentId?: string | null) =>
    config.allowedChannels.length === 0 ||
    config.allowedChannels.includes(channelId) ||
    (parentId ? config.allowedChannels.includes(parentId) : false);

  const answer = async (
    surface: ReplySurface,
    text: string,
    history: readonly Turn[],
    where: { channelId: string; threadId?: string; userId: string; via: string },
  ) => {
    const questionId = randomUUID();
    const qlog = log.child({ questionId, channel: where.channelId, via: where.via });
    qlog.info('question received');
    const events = answerer.answer(
      {
        id: questionId,
        text,
        asker: { id: where.userId },
        place: {
          platform: 'discord',
          channelId: where.channelId,
          ...(where.threadId ? { threadId: where.threadId } : {}),
        },
      },
      history,
    );
    try {
      await renderAnswer(surface, events, {
        questionId,
        log: qlog,
        ...(options.editIntervalMs !== undefined ? { editIntervalMs: options.editIntervalMs } : {}),
        ...(options.clock ? { clock: options.clock } : {}),
      });
    } catch (error) {
      qlog.error({ err: error }, 'could not deliver an answer to Discord');
      await surface
        .post({ content: '⚠️ Something went wrong while posting the answer. Please try again.' })
        .catch(() => undefined);
    }
  };

  const onAsk = async (interaction: ChatInputCommandInteraction) => {
    const isPrivate = interaction.options.getBoolean('private') ?? false;
    // Checked before anything is posted: a refused question never becomes a reply or a thread.
    const checked = checkQuestion(interaction.options.getString('question', true), maxQuestionChars);
    if (!checked.ok) {
      await interaction.reply({
        content: `⚠️ ${checked.message}`,
        flags: MessageFlags.Ephemeral,
        allowedMentions: NO_PINGS,
      });
      return;
    }
    const { question } = checked;
    if (!allowed(interaction.channelId)) {
      await interaction.reply({
        content: 'I am not enabled in this channel.',
        flags: MessageFlags.Ephemeral,
        allowedMentions: NO_PINGS,
      });
      return;
    }
    // The 3-second rule: acknowledge before anything slow happens.
    await interaction.deferReply(isPrivate ? { flags: MessageFlags.Ephemeral } : {});
    let expired = false;
    const channel = interaction.channel;
    const fallback = channel?.isSendable() ? channelSurface(channel) : undefined;
    const surface: ReplySurface = {
      async writeFirst(payload) {
        if (!expired) {
          try {
            await interaction.editReply({ ...payload, allowedMentions: NO_PINGS });
            return;
          } catch (error) {
            if (!isExpiredInteraction(error) || !fallback) throw error;
            expired = true;
            log.warn('interaction token expired; continuing in the channel');
          }
        }
        await fallback!.writeFirst(payload);
      },
      async post(payload) {
        if (!expired) {
          try {
            await interaction.followUp({
              ...payload,
              allowedMentions: NO_PINGS,
              ...(isPrivate ? { flags: MessageFlags.Ephemeral } : {}),
            });
            return;
          } catch (error) {
            if (!isExpiredInteraction(error) || !fallback) throw error;
            expired = true;
          }
        }
        await fallback!.post(payload);
      },
      typing: async () => undefined, // the deferred reply already shows "thinking…"
    };
    await answer(surface, question, [], {
      channelId: interaction.channelId,
      userId: interaction.user.id,
      via: 'command',
    });
    if (isPrivate || !interaction.inGuild() || expired || channel?.isThread()) return;
    try {
      const reply = await interaction.fetchReply();
      await reply.startThread({ name: threadName(question) });
    } catch (error) {
      if (!isMissingPermission(error)) throw error;
      await interaction
        .followUp({
          content:
            "I couldn't start a thread for follow-ups here (missing the Create Public Threads permission). Mention me to ask more.",
          flags: MessageFlags.Ephemeral,
          allowedMentions: NO_PINGS,
        })
        .catch(() => undefined);
    }
  };

  const onFeedback = async (interaction: ButtonInteraction) => {
    const [, vote, questionId] = interaction.customId.split(':');
    log.info({ event: 'feedback', questionId, user: interaction.user.id, vote }, 'feedback');
    await interaction.reply({
      content:
        vote === 'up'
          ? 'Thanks, glad it helped!'
          : 'Thanks for telling us; the team will look at this answer.',
      flags: MessageFlags.Ephemeral,
      allowedMentions: NO_PINGS,
    });
  };

  const onMessage = async (message: Message) => {
    // Bots, apps, webhooks and Discord's own system messages are never questions: answering
    // them could set two bots talking to each other forever.
    if (message.author.bot || message.webhookId || message.system) {
      log.debug({ channel: message.channelId }, 'ignored a message from a bot, webhook or the system');
      return;
    }
    if (!client.user) return;
    const botId = client.user.id;
    const mentioned = message.mentions.users.has(botId);
    const channel = message.channel;
    const text = stripMention(message.content, botId);

    if (!message.inGuild()) {
      if (!text || !channel.isSendable()) return;
      const history = await channelHistory(channel, message.id, botId);
      await answer(channelSurface(channel), text, history, {
        channelId: channel.id,
        userId: message.author.id,
        via: 'dm',
      });
      return;
    }
    if (channel.isThread()) {
      // Follow-ups need no mention in threads the bot started; elsewhere only mentions count.
      if (!mentioned && channel.ownerId !== botId) return;
      if (!text || !allowed(channel.id, channel.parentId)) return;
      const history = await channelHistory(channel, message.id, botId);
      await answer(channelSurface(channel), text, history, {
        channelId: channel.parentId ?? channel.id,
        threadId: channel.id,
        userId: message.author.id,
        via: mentioned ? 'mention' : 'follow-up',
      });
      return;
    }
    if (!mentioned || !allowed(channel.id) || !channel.isSendable()) return;
    if (!text) {
      await message.reply({
        content: 'Ask me a question after the mention, or use `/ask`.',
        allowedMentions: NO_PINGS,
      });
      return;
    }
    try {
      const thread = await message.startThread({ name: threadName(text) });
      await answer(channelSurface(thread), text, [], {
        channelId: channel.id,
        threadId: thread.id,
        userId: message.author.id,
        via: 'mention',
      });
    } catch (error) {
      if (!isMissingPermission(error)) throw error;
      await message.reply({
        content:
          "I can't create threads in this channel (I'm missing the Create Public Threads permission), so I'll answer here.",
        allowedMentions: NO_PINGS,
      });
      await answer(channelSurface(channel, message), text, [], {
        channelId: channel.id,
        userId: message.author.id,
        via: 'mention',
      });
    }
  };

  // Handlers never let an error escape into the client: every path logs and moves on.
  client.on(Events.InteractionCreate, (interaction) => {
    const run =
      interaction.isChatInputCommand() && interaction.commandName === 'ask'
        ? onAsk(interaction)
        : interaction.isButton() && interaction.customId.startsWith(FEEDBACK_PREFIX)
          ? onFeedback(interaction)
          : undefined;
    run?.catch((error: unknown) => log.error({ err: error }, 'interaction handler failed'));
  });
  client.on(Events.MessageCreate, (message) => {
    onMessage(message).catch((error: unknown) => log.error({ err: error }, 'message handler failed'));
  });
  client.on(Events.Error, (error) => log.error({ err: error }, 'Discord client error'));
  client.on(Events.ShardError, (error, shardId) => log.error({ err: error, shardId }, 'Discord shard error'));
  client.on(Events.ShardDisconnect, (_event, shardId) => {
    ready = false;
    log.warn({ shardId }, 'Discord shard disconnected');
  });
  client.on(Events.ShardResume, () => {
    ready = true;
  });

  return {
    name: 'discord',
    async start() {
      const readyPromise = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
      try {
        await client.login(config.token);
      } catch (error) {
        throw loginProblem(error);
      }
      await readyPromise;
      ready = true;
      log.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'Discord connected');
    },
    async stop() {
      ready = false;
      await client.destroy();
    },
    isReady: () => ready,
  };
}
