/**
 * The Slack front end on @slack/bolt. HTTP mode (Events API at /slack/events, every request
 * signature-checked) by default, the mode that scales behind a load balancer; Socket Mode
 * when an app-level token is configured.
 *
 * The adapter only translates: each trigger has its handler (handlers/), and answers go
 * through the shared conversation layer. Who answers what, so nothing is answered twice:
 * `app_mention` handles every mention (in a channel or a thread); `message` handles DMs and
 * un-mentioned follow-ups in threads the bot has joined; Slack's retries of an event are
 * dropped by event id.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver } from '@slack/bolt';
import type { Config } from '../../config.js';
import type { ConversationLayer } from '../../conversation/layer.js';
import type { HttpRoute } from '../../http/types.js';
import type { KnowledgeService } from '../../knowledge/service.js';
import { type Logger, silentLogger } from '../../log.js';
import type { PlatformAdapter } from '../types.js';
import { boltLogger } from './bolt-logger.js';
import type { SlackContext } from './context.js';
import type { SlackPacing } from './conversation.js';
import { FEEDBACK_ACTION } from './format.js';
import { onAskCommand } from './handlers/ask-command.js';
import { onFeedback } from './handlers/feedback.js';
import { onKbCommand } from './handlers/kb-command.js';
import { onMention } from './handlers/mention.js';
import { onMessage } from './handlers/message.js';
import { onSaveToKnowledge, SAVE_TO_KNOWLEDGE } from './handlers/save-thread.js';
import type { BotIdentity } from './history.js';

export interface SlackAdapterOptions {
  readonly config: NonNullable<Config['slack']>;
  readonly port: number;
  readonly conversations: ConversationLayer;
  /** `/kb` and the save-to-knowledge shortcut; without it neither is registered. */
  readonly knowledge?: KnowledgeService;
  /** Served on the same port in HTTP mode (health, metrics, the web chat). */
  readonly routes?: readonly HttpRoute[];
  readonly logger?: Logger;
  /** Write pacing, for tests; defaults suit Slack's rate limits. */
  readonly pacing?: SlackPacing;
}

export interface SlackAdapter extends PlatformAdapter {
  /** The bound port in HTTP mode, once started. */
  readonly port: number | undefined;
}

function createApp(config: SlackAdapterOptions['config'], routes: readonly HttpRoute[], log: Logger) {
  const receiver = config.appToken
    ? undefined
    : new HTTPReceiver({
        signingSecret: config.signingSecret ?? '',
        endpoints: '/slack/events',
        customRoutes: [...routes],
        logger: boltLogger(log),
      });
  return new App({
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
}

function credentialProblem(error: unknown): Error {
  const code = (error as { data?: { error?: string } }).data?.error ?? (error as Error).message;
  return new Error(
    /invalid_auth|not_authed|token_revoked|account_inactive/.test(code)
      ? `Slack rejected SLACK_BOT_TOKEN (${code}): copy the Bot User OAuth Token from OAuth & Permissions.`
      : `Cannot reach Slack (${code}).`,
  );
}

export function createSlackAdapter(options: SlackAdapterOptions): SlackAdapter {
  const { config, conversations } = options;
  const log = (options.logger ?? silentLogger).child({ platform: 'slack' });
  const socketMode = Boolean(config.appToken);
  const app = createApp(config, options.routes ?? [], log);
  let bot: BotIdentity = { userId: '' };
  let ready = false;
  let server: Server | undefined;

  const ctx: SlackContext = { config, conversations, log, pacing: options.pacing ?? {}, bot: () => bot };

  // Slack retries events it thinks were not acknowledged in time; answer each event once.
  app.use(async ({ body, next }) => {
    const eventId = (body as { event_id?: string }).event_id;
    if (eventId && !(await conversations.firstDelivery('slack', eventId))) return;
    await next();
  });
  app.command('/ask', onAskCommand(ctx));
  app.event('app_mention', onMention(ctx));
  app.message(onMessage(ctx));
  app.action(FEEDBACK_ACTION, onFeedback(ctx));
  if (options.knowledge) {
    app.command('/kb', onKbCommand(ctx, options.knowledge));
    app.shortcut(
      { callback_id: SAVE_TO_KNOWLEDGE, type: 'message_action' },
      onSaveToKnowledge(ctx, options.knowledge),
    );
  }
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
        throw credentialProblem(error);
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
