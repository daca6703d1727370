/**
 * The Slack front end on @slack/bolt. HTTP mode (Events API at /slack/events, every request
 * signature-checked) by default, the mode that scales behind a load balancer; Socket Mode
 * when an app-level token is configured.
 *
 * Who answers what, so nothing is answered twice: `app_mention` handles every mention (in a
 * channel or a thread); `message` handles DMs and un-mentioned follow-ups in threads the bot
 * has joined. Slack's own retries are dropped by event id.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, type webApi } from '@slack/bolt';
import type { Config } from '../../config.js';
import type { Answerer, Turn } from '../../core/types.js';
import { type Logger, silentLogger } from '../../log.js';
import type { DedupeStore } from '../../ops/shared-state.js';
import { slackPlainText } from '../../render/slack-text.js';
import type { EditClock } from '../../render/throttled-edits.js';
import { checkQuestion, DEFAULT_MAX_QUESTION_CHARS } from '../question.js';
import type { HttpRoute, PlatformAdapter } from '../types.js';
import { boltLogger } from './bolt-logger.js';
import { describeProblem, fromAnyBot, mentionEvent, messageEvent } from './events.js';
import { FEEDBACK_ACTION, stripBotMention } from './format.js';
import { type BotIdentity, directMessageHistory, QUESTION_EVENT, threadContext } from './history.js';
import { type AnswerTarget, renderAnswer } from './render-answer.js';

type WebClient = webApi.WebClient;

export interface SlackAdapterOptions {
  readonly config: NonNullable<Config['slack']>;
  readonly port: number;
  readonly answerer: Answerer;
  readonly dedupe: DedupeStore;
  /** Served on the same port in HTTP mode (health, metrics). */
  readonly routes?: readonly HttpRoute[];
  readonly logger?: Logger;
  /** Longest question accepted (RAG_MAX_QUESTION_CHARS); checked before /ask echoes it. */
  readonly maxQuestionChars?: number;
  /** Render timing, for tests; defaults suit Slack's rate limits. */
  readonly editIntervalMs?: number;
  readonly appendIntervalMs?: number;
  readonly clock?: EditClock;
}

export interface SlackAdapter extends PlatformAdapter {
  /** The bound port in HTTP mode, once started. */
  readonly port: number | undefined;
}

/** Slack retries an event for up to an hour; remembering ids this long drops every retry. */
const DEDUPE_TTL_MS = 60 * 60 * 1000;

const USAGE = 'Ask a question after the command, for example: `/ask How do I add the bot to Slack?`';
const MENTION_USAGE =
  'Ask me a question after the mention, for example: "@bot How do I add the bot to Slack?"';

function notEnabledHere(config: SlackAdapterOptions['config'], channel: string): boolean {
  // Direct messages (D…) are always allowed: the list limits channels.
  return (
    config.allowedChannels.length > 0 && !channel.startsWith('D') && !config.allowedChannels.includes(channel)
  );
}

export function createSlackAdapter(options: SlackAdapterOptions): SlackAdapter {
  const { config, answerer, dedupe } = options;
  const maxQuestionChars = options.maxQuestionChars ?? DEFAULT_MAX_QUESTION_CHARS;
  const log = (options.logger ?? silentLogger).child({ platform: 'slack' });
  const socketMode = Boolean(config.appToken);
  const receiver = socketMode
    ? undefined
    : new HTTPReceiver({
        signingSecret: config.signingSecret ?? '',
        endpoints: '/slack/events',
        customRoutes: [...(options.routes ?? [])],
        logger: boltLogger(log),
      });
  const app = new App({
    token: config.botToken,
    ...(receiver
      ? { receiver }
      : {
          appToken: config.appToken,
          socketMode: true,
          // The Socket Mode client opens its connection through the Web API: same base URL.
          ...(config.apiURL ? { installerOptions: { clientOptions: { slackApiUrl: config.apiURL } } } : {}),
        }),
    logger: boltLogger(log),
    deferInitialization: true,
    clientOptions: {
      ...(config.apiURL ? { slackApiUrl: config.apiURL } : {}),
      // Retries honour Retry-After on 429; bounded so a stuck answer cannot hang forever.
      retryConfig: { retries: 3, factor: 2, minTimeout: 200, maxTimeout: 10_000 },
      timeout: 15_000,
    },
  });
  let bot: BotIdentity = { userId: '' };
  let ready = false;
  let server: Server | undefined;

  const ask = async (
    client: WebClient,
    target: AnswerTarget,
    text: string,
    history: readonly Turn[],
    context: Record<string, unknown>,
  ) => {
    const questionId = randomUUID();
    const qlog = log.child({ questionId, channel: target.channel, ...context });
    qlog.info('question received');
    try {
      const events = answerer.answer(
        {
          id: questionId,
          text,
          asker: { id: target.userId },
          place: {
            platform: 'slack',
            channelId: target.channel,
            ...(target.threadTs ? { threadId: target.threadTs } : {}),
          },
        },
        history,
      );
      await renderAnswer(client, target, events, {
        questionId,
        log: qlog,
        ...(options.editIntervalMs !== undefined ? { editIntervalMs: options.editIntervalMs } : {}),
        ...(options.appendIntervalMs !== undefined ? { appendIntervalMs: options.appendIntervalMs } : {}),
        ...(options.clock ? { clock: options.clock } : {}),
      });
    } catch (error) {
      qlog.error({ err: error }, 'could not deliver an answer to Slack');
      // Last resort: one plain message, so the user is never left in silence.
      await client.chat
        .postMessage({
          channel: target.channel,
          ...(target.threadTs ? { thread_ts: target.threadTs } : {}),
          text: ':warning: Something went wrong while posting the answer. Please try again.',
        })
        .catch(() => undefined);
    }
  };

  // Slack retries events it thinks were not acknowledged in time; answer each event once.
  app.use(async ({ body, next }) => {
    const eventId = (body as { event_id?: string }).event_id;
    if (eventId && !(await dedupe.firstSeen(`slack:event:${eventId}`, DEDUPE_TTL_MS))) {
      log.debug({ eventId }, 'dropped a repeated event');
      return;
    }
    await next();
  });

  app.command('/ask', async ({ command, ack, client, respond }) => {
    // Checked before anything is posted: a refused question is never pasted into the channel.
    const checked = checkQuestion(command.text, maxQuestionChars);
    if (!checked.ok) {
      await ack({ response_type: 'ephemeral', text: checked.kind === 'empty' ? USAGE : checked.message });
      return;
    }
    const { question } = checked;
    if (notEnabledHere(config, command.channel_id)) {
      await ack({
        response_type: 'ephemeral',
        text: 'I am not enabled in this channel. Ask an admin, or try a channel where I am.',
      });
      return;
    }
    await ack();
    // The asker is named (their own question, so no surprise); their text is shown, never run.
    const asker = /^[UW][A-Z0-9]+$/.test(command.user_id) ? `<@${command.user_id}> asked` : 'Asked';
    let parentTs: string;
    try {
      const parent = await client.chat.postMessage({
        channel: command.channel_id,
        text: `${asker}: ${slackPlainText(question)}`,
        metadata: { event_type: QUESTION_EVENT, event_payload: { question } },
      });
      parentTs = parent.ts!;
    } catch (error) {
      const code = (error as { data?: { error?: string } }).data?.error;
      const why =
        code === 'not_in_channel' || code === 'channel_not_found'
          ? `I can't post in this channel because I'm not a member. Invite me with \`/invite <@${bot.userId}>\` and ask again.`
          : 'I could not post in this channel just now. Please try again in a moment.';
      log.warn({ channel: command.channel_id, code }, 'could not post the /ask question');
      await respond({ response_type: 'ephemeral', text: why }).catch(() => undefined);
      return;
    }
    await ask(
      client,
      { channel: command.channel_id, threadTs: parentTs, userId: command.user_id, teamId: command.team_id },
      question,
      [],
      {
        via: 'command',
      },
    );
  });

  app.event('app_mention', async ({ event, client, body }) => {
    if (fromAnyBot(event)) {
      log.debug({ channel: event.channel }, 'ignored a mention from a bot');
      return;
    }
    const parsed = mentionEvent.safeParse(event);
    if (!parsed.success) {
      log.warn({ problem: describeProblem(parsed.error) }, 'dropped a malformed app_mention event');
      return;
    }
    const mention = parsed.data;
    const rootTs = mention.thread_ts ?? mention.ts;
    const target: AnswerTarget = {
      channel: mention.channel,
      threadTs: rootTs,
      userId: mention.user,
      ...(body.team_id ? { teamId: body.team_id } : {}),
    };
    if (notEnabledHere(config, mention.channel)) {
      await client.chat.postMessage({
        channel: mention.channel,
        thread_ts: rootTs,
        text: 'I am not enabled in this channel.',
      });
      return;
    }
    const question = stripBotMention(mention.text, bot.userId);
    if (!question) {
      await client.chat.postMessage({ channel: mention.channel, thread_ts: rootTs, text: MENTION_USAGE });
      return;
    }
    const history = mention.thread_ts
      ? (await threadContext(client, mention.channel, rootTs, mention.ts, bot)).history
      : [];
    await ask(client, target, question, history, { via: 'mention' });
  });

  app.message(async ({ message, client, body }) => {
    // Other bots' and apps' posts, edits, deletions and joins are not questions.
    if (fromAnyBot(message)) {
      log.debug({ channel: message.channel }, 'ignored a message from a bot');
      return;
    }
    if (message.subtype !== undefined) return;
    const parsed = messageEvent.safeParse(message);
    if (!parsed.success) {
      log.warn({ problem: describeProblem(parsed.error) }, 'dropped a malformed message event');
      return;
    }
    const { data: msg } = parsed;
    const teamId = (body as { team_id?: string }).team_id;
    // Slack sends no app_mention for direct messages, so a DM is answered here, mention or not.
    if (msg.channel_type === 'im') {
      const question = stripBotMention(msg.text, bot.userId);
      if (!question) return;
      const history = await directMessageHistory(client, msg.channel, msg.ts, bot);
      await ask(
        client,
        { channel: msg.channel, userId: msg.user, ...(teamId ? { teamId } : {}) },
        question,
        history,
        {
          via: 'dm',
        },
      );
      return;
    }
    if (msg.text.includes(`<@${bot.userId}>`)) return; // app_mention answers it
    if (!msg.thread_ts || msg.thread_ts === msg.ts) return;
    if (notEnabledHere(config, msg.channel)) return;
    const context = await threadContext(client, msg.channel, msg.thread_ts, msg.ts, bot);
    if (!context.botParticipates) return;
    await ask(
      client,
      {
        channel: msg.channel,
        threadTs: msg.thread_ts,
        userId: msg.user,
        ...(teamId ? { teamId } : {}),
      },
      msg.text,
      context.history,
      { via: 'follow-up' },
    );
  });

  app.action(FEEDBACK_ACTION, async ({ ack, action, body, client }) => {
    await ack();
    const vote = 'action_id' in action && action.action_id === 'feedback_up' ? 'up' : 'down';
    const questionId = 'value' in action ? action.value : undefined;
    log.info({ event: 'feedback', questionId, user: body.user.id, vote }, 'feedback');
    const channel = body.channel?.id;
    const threadTs =
      'message' in body ? ((body.message?.thread_ts as string | undefined) ?? body.message?.ts) : undefined;
    if (channel) {
      await client.chat
        .postEphemeral({
          channel,
          user: body.user.id,
          ...(threadTs ? { thread_ts: threadTs } : {}),
          text:
            vote === 'up'
              ? 'Thanks, glad it helped!'
              : 'Thanks for telling us; the team will look at this answer.',
        })
        .catch(() => undefined);
    }
  });

  app.error(async (error) => {
    log.error({ err: error }, 'unhandled error in a Slack handler');
  });

  return {
    name: 'slack',
    get port() {
      const address = server?.address() as AddressInfo | null | undefined;
      return address?.port;
    },
    async start() {
      let auth: Awaited<ReturnType<typeof app.client.auth.test>>;
      try {
        await app.init();
        auth = await app.client.auth.test();
      } catch (error) {
        const code = (error as { data?: { error?: string } }).data?.error ?? (error as Error).message;
        throw new Error(
          /invalid_auth|not_authed|token_revoked|account_inactive/.test(code)
            ? `Slack rejected SLACK_BOT_TOKEN (${code}): copy the Bot User OAuth Token from OAuth & Permissions.`
            : `Cannot reach Slack (${code}).`,
        );
      }
      bot = { userId: String(auth.user_id), ...(auth.bot_id ? { botId: String(auth.bot_id) } : {}) };
      const started: unknown = socketMode ? await app.start() : await app.start(options.port);
      if (!socketMode) server = started as Server;
      ready = true;
      log.info(
        {
          mode: socketMode ? 'socket' : 'http',
          port: socketMode ? undefined : this.port,
          botUserId: bot.userId,
        },
        'Slack connected',
      );
    },
    async stop() {
      ready = false;
      await app.stop();
    },
    isReady: () => ready,
  };
}
