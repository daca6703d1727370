/**
 * The Slack front end on @slack/bolt. HTTP mode (Events API at /slack/events, every request
 * signature-checked) by default, the mode that scales behind a load balancer; Socket Mode
 * when an app-level token is configured.
 *
 * Two ways to be in a workspace: one workspace with SLACK_BOT_TOKEN, or any workspace that
 * installs the app (OAuth mode, SLACK_CLIENT_ID…): Bolt serves /slack/install and
 * /slack/oauth_redirect, keeps each installation (tokens encrypted) in `installations`, and
 * hands every request the client and bot identity of the workspace it came from.
 *
 * The adapter only translates: each trigger has its handler (handlers/), and answers go
 * through the shared conversation layer. Who answers what, so nothing is answered twice:
 * `app_mention` handles every mention (in a channel or a thread); `message` handles DMs and
 * un-mentioned follow-ups in threads the bot has joined; Slack's retries of an event are
 * dropped by event id.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger as SlackLogger } from '@slack/bolt';
import slackManifest from '../../../commands/slack-manifest.json' with { type: 'json' };
import type { KnowledgeOverviewReader } from '../../conversation/knowledge-overview.js';
import type { ConversationLayer } from '../../conversation/layer.js';
import type { HttpRoute } from '../../http/types.js';
import type { KnowledgeService } from '../../knowledge/service.js';
import { type Logger, silentLogger } from '../../log.js';
import { SAVE_THREAD_ACTION } from '../../records/digest-slack.js';
import { StartupError } from '../../startup-error.js';
import type { TenantSettingsStore } from '../../tenants/settings-store.js';
import type { PlatformAdapter } from '../types.js';
import { App, AuthorizationError, HTTPReceiver } from './bolt.js';
import { boltLogger } from './bolt-logger.js';
import type { SlackContext } from './context.js';
import { type SlackPacing, streamingSupport } from './conversation.js';
import { ASK_HUMAN_ACTION, FEEDBACK_ACTION } from './format.js';
import {
  DEFAULT_DOOR_LIMITS,
  EVENTS_PATH,
  GuardedReceiver,
  SIGNATURE_PROPERTY,
  type SlackDoorLimits,
  type SlackDoorStats,
  signatureProperty,
} from './front-door.js';
import { onAppHomeOpened } from './handlers/app-home.js';
import { registerAskAboutMessage } from './handlers/ask-about-message.js';
import { onAskCommand } from './handlers/ask-command.js';
import { onAskHuman } from './handlers/ask-human.js';
import { assistantThreads } from './handlers/assistant-thread.js';
import { onFeedback } from './handlers/feedback.js';
import { onFeedbackReason, REASON_VIEW } from './handlers/feedback-reason.js';
import { onKbCommand } from './handlers/kb-command.js';
import { onResolvedReaction } from './handlers/learn.js';
import { onMention } from './handlers/mention.js';
import { onMessage } from './handlers/message.js';
import { onSaveToKnowledge, SAVE_TO_KNOWLEDGE } from './handlers/save-thread.js';
import { onSaveThreadButton } from './handlers/save-thread-button.js';
import { onAppUninstalled, onTokensRevoked } from './handlers/uninstall.js';
import type { BotIdentity } from './history.js';
import { INSTALL_PATH, installFailurePage, REDIRECT_PATH } from './install-pages.js';
import {
  installationId,
  keepingWorkspaceUrl,
  NoInstallationError,
  type SlackInstallations,
  storedWorkspaceUrl,
} from './installations.js';
import { installedClients, type SlackClientFor, slackResumer } from './resume.js';
import type { SlackConfig } from './settings.js';
import { WorkspaceUrls } from './workspace-links.js';

export interface SlackAdapterOptions {
  readonly config: SlackConfig;
  readonly port: number;
  readonly conversations: ConversationLayer;
  /** Where installations live; required in OAuth mode (`config.oauth`). */
  readonly installations?: SlackInstallations;
  /** `/kb` and the save-to-knowledge shortcut; without it neither is registered. */
  readonly knowledge?: KnowledgeService;
  /** Served on the same port in HTTP mode (health, metrics, the web chat). */
  readonly routes?: readonly HttpRoute[];
  readonly logger?: Logger;
  /** Write pacing, for tests; defaults suit Slack's rate limits. */
  readonly pacing?: SlackPacing;
  /** What the bot knows, for the App Home tab (store stats, sources, collections). */
  readonly overview?: KnowledgeOverviewReader;
  /** Overrides of the HTTP receiver's limits (config.receiver), for tests: a shorter request timeout. */
  readonly receiverLimits?: Partial<SlackDoorLimits>;
  /** Each workspace's `/kb settings`; absent: only ESCALATION_SLACK_GROUP and DIGEST_SLACK_CHANNEL apply. */
  readonly tenants?: TenantSettingsStore;
  /** DIGEST_SLACK_CHANNEL, shown in `/kb settings` where a workspace chose none. */
  readonly digestChannel?: string;
}

export interface SlackAdapter extends PlatformAdapter {
  /** The bound port in HTTP mode, once started. */
  readonly port: number | undefined;
  /** HTTP mode: what /slack/events has read and refused before the signature check. */
  receiverStats(): SlackDoorStats | undefined;
}

/** Slack's authorize page beside its Web API (https://slack.com/api/ → https://slack.com/oauth/v2/authorize). */
export function authorizeURL(apiURL: string | undefined): string | undefined {
  return apiURL ? new URL('../oauth/v2/authorize', new URL(apiURL)).toString() : undefined;
}

function clientOptions(config: SlackConfig) {
  return {
    ...(config.apiURL ? { slackApiUrl: config.apiURL } : {}),
    // Retries honour Retry-After on 429; bounded so a stuck answer cannot hang forever.
    retryConfig: { retries: 3, factor: 2, minTimeout: 200, maxTimeout: 10_000 },
    timeout: 15_000,
  };
}

function oauthReceiver(
  config: SlackConfig,
  installations: SlackInstallations,
  routes: readonly HttpRoute[],
  logger: SlackLogger,
  limits: SlackDoorLimits,
): HTTPReceiver {
  const oauth = config.oauth!;
  const authorizationUrl = authorizeURL(config.apiURL);
  return new HTTPReceiver({
    signingSecret: config.signingSecret ?? '',
    endpoints: EVENTS_PATH,
    customRoutes: [...routes],
    logger,
    bodyLimit: limits.maxBodyBytes,
    customPropertiesExtractor: signatureProperty,
    clientId: oauth.clientId,
    clientSecret: oauth.clientSecret,
    stateSecret: oauth.stateSecret,
    scopes: slackManifest.oauth_config.scopes.bot,
    installationStore: keepingWorkspaceUrl(installations, clientOptions(config)),
    installerOptions: {
      installPath: INSTALL_PATH,
      redirectUriPath: REDIRECT_PATH,
      // /slack/install goes straight to Slack's consent page (also usable as the Direct Install URL).
      directInstall: true,
      // The code exchange (oauth.v2.access) and its auth.test go where the Web API goes.
      clientOptions: clientOptions(config),
      ...(authorizationUrl ? { authorizationUrl } : {}),
      callbackOptions: { failure: installFailurePage },
    },
  });
}

function createApp(
  config: SlackConfig,
  routes: readonly HttpRoute[],
  log: Logger,
  installations: SlackInstallations | undefined,
  limits: SlackDoorLimits,
): { app: App; door?: GuardedReceiver } {
  const logger = boltLogger(log);
  const guarded = (receiver: HTTPReceiver) => new GuardedReceiver(receiver, limits, { log, boltLog: logger });
  if (config.oauth) {
    if (!installations) throw new Error('Slack OAuth mode needs an installation store');
    // Bolt warns on every event it cannot authorize; here that is a workspace without an
    // installation, which app.error reports once with the workspace's id.
    const quieter: SlackLogger = {
      ...logger,
      warn: (...parts: unknown[]) =>
        /^Authorization of incoming event did not succeed/.test(String(parts[0]))
          ? logger.debug(...parts)
          : logger.warn(...parts),
    };
    const door = guarded(oauthReceiver(config, installations, routes, logger, limits));
    const app = new App({
      receiver: door,
      logger: quieter,
      deferInitialization: true,
      clientOptions: clientOptions(config),
    });
    return { app, door };
  }
  const door = config.appToken
    ? undefined
    : guarded(
        new HTTPReceiver({
          signingSecret: config.signingSecret ?? '',
          endpoints: EVENTS_PATH,
          customRoutes: [...routes],
          logger,
          bodyLimit: limits.maxBodyBytes,
          customPropertiesExtractor: signatureProperty,
        }),
      );
  const app = new App({
    token: config.botToken,
    ...(door
      ? { receiver: door }
      : {
          appToken: config.appToken,
          socketMode: true,
          // The Socket Mode client opens its connection through the Web API: same base URL.
          ...(config.apiURL ? { installerOptions: { clientOptions: { slackApiUrl: config.apiURL } } } : {}),
        }),
    logger,
    deferInitialization: true,
    clientOptions: clientOptions(config),
  });
  return { app, ...(door ? { door } : {}) };
}

/** Why auth.test failed at start, in terms of what to fix. */
function credentialProblem(error: unknown, apiURL: string | undefined): StartupError {
  const code = (error as { data?: { error?: string } }).data?.error;
  if (code && /invalid_auth|not_authed|token_revoked|account_inactive/.test(code)) {
    return new StartupError(
      `Slack rejected SLACK_BOT_TOKEN (${code}): copy the Bot User OAuth Token from OAuth & Permissions.`,
      { cause: error },
    );
  }
  // The innermost cause says most ("connect ECONNREFUSED …" under "fetch failed").
  let reason = code ?? (error as Error).message;
  let cause: unknown = error;
  for (let depth = 0; depth < 4 && cause; depth++) {
    if (!code && cause instanceof Error && cause.message) reason = cause.message;
    cause = (cause as { original?: unknown }).original ?? (cause as { cause?: unknown }).cause;
  }
  return new StartupError(
    `Cannot reach Slack at ${apiURL ?? 'https://slack.com/api/'} (${reason}): check this machine's network and proxy${apiURL ? ', and SLACK_API_URL' : ''}.`,
    { cause: error },
  );
}

/** The installation behind a failed authorization, when that is why it failed. */
function missingInstallation(error: unknown): NoInstallationError | undefined {
  let cause: unknown = error;
  for (let depth = 0; depth < 4 && cause; depth++) {
    if (cause instanceof NoInstallationError) return cause;
    cause =
      (cause as { original?: unknown; cause?: unknown }).original ?? (cause as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Slash commands and interactions are acknowledged by their handlers, within Slack's 3 s, and
 * the replay check runs before them: it may take at most this long (a busy or hung shared
 * store), after which the request counts as new. A replay acted on is rare and harmless; a
 * command Slack shows as failed is lost.
 */
export const REPLAY_CHECK_MS = 500;

async function firstDeliveryWithin(conversations: ConversationLayer, signature: string): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), REPLAY_CHECK_MS);
  });
  try {
    return await Promise.race([conversations.firstDelivery('slack', signature).catch(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

export function createSlackAdapter(options: SlackAdapterOptions): SlackAdapter {
  const { config, conversations, installations } = options;
  const log = (options.logger ?? silentLogger).child({ platform: 'slack' });
  const socketMode = Boolean(config.appToken);
  const limits: SlackDoorLimits = { ...DEFAULT_DOOR_LIMITS, ...config.receiver, ...options.receiverLimits };
  const { app, door } = createApp(config, options.routes ?? [], log, installations, limits);
  // Single workspace: known from auth.test at start. Any workspace: per request, from the
  // installation Bolt authorized it with (context.botUserId), kept for the handlers' awaits.
  let startupBot: BotIdentity = { userId: '' };
  /** With one bot token, its workspace (auth.test at start): the tenant of every request. */
  let homeTeam: string | undefined;
  const requestBot = new AsyncLocalStorage<BotIdentity>();
  let ready = false;
  let server: Server | undefined;

  // One workspace: its URL from the start-up auth.test. Any workspace: as its installation stored it.
  const workspaceUrls = new WorkspaceUrls(
    installations ? { stored: async (teamId) => storedWorkspaceUrl(installations, teamId) } : {},
  );
  const ctx: SlackContext = {
    config,
    conversations,
    log,
    pacing: options.pacing ?? {},
    bot: () => requestBot.getStore() ?? startupBot,
    streaming: streamingSupport(),
    workspaceUrls,
    ...(options.tenants ? { tenants: options.tenants } : {}),
    ...(options.digestChannel ? { digestChannel: options.digestChannel } : {}),
  };

  // An answer another instance began here and could not finish is finished with the client of
  // its workspace: the bot token (one workspace) or, from the installation, that workspace's.
  const clientFor: SlackClientFor =
    config.oauth && installations
      ? installedClients(installations, clientOptions(config))
      : async () => ({ client: app.client, bot: startupBot });
  conversations.resumeOn('slack', slackResumer(ctx, clientFor));

  // A workspace without an installation is logged once, not on every event it still sends
  // (and again if it installs and leaves once more).
  const reportedMissing = new Set<string>();
  app.use(async ({ context, next }) => {
    // Bolt's single-token authorisation leaves the team to the payload, which in a channel
    // shared with another organisation may name that organisation: the token's own team is
    // the workspace every request acts for (see tenant.ts).
    if (homeTeam) context.teamId = homeTeam;
    if (reportedMissing.size > 0 && (context.teamId || context.enterpriseId)) {
      reportedMissing.delete(installationId(context));
    }
    if (!context.botUserId) return next();
    const bot: BotIdentity = {
      userId: context.botUserId,
      ...(context.botId ? { botId: context.botId } : {}),
    };
    return requestBot.run(bot, next);
  });
  // Slack retries events it thinks were not acknowledged in time; answer each event once.
  // Slash commands and interactions carry no event id, and Bolt accepts a signed request
  // again and again for five minutes: each signature is acted on once (the dedupe store is
  // shared by every instance with Redis or PostgreSQL; it keeps keys an hour, beyond the
  // ten minutes a timestamp passes the door's window).
  app.use(async (args) => {
    const { body, context, next } = args;
    const eventId = (body as { event_id?: string }).event_id;
    if (eventId) {
      if (!(await conversations.firstDelivery('slack', eventId))) return;
    } else {
      const signature = context[SIGNATURE_PROPERTY];
      if (typeof signature === 'string' && !(await firstDeliveryWithin(conversations, signature))) {
        log.warn(
          { request: (body as { type?: string }).type ?? (body as { command?: string }).command },
          'ignored a signed Slack request received before (a replay): acknowledged, not acted on again',
        );
        // Acknowledged, so the sender gets its 200 and Bolt no "not acknowledged" error.
        if ('ack' in args && typeof args.ack === 'function') await args.ack();
        return;
      }
    }
    await next();
  });
  // Before the message handler: assistant-thread messages stop there.
  app.assistant(assistantThreads(ctx));
  app.command('/ask', onAskCommand(ctx));
  registerAskAboutMessage(app, ctx);
  app.event('app_home_opened', onAppHomeOpened(ctx, options.overview));
  app.event('app_mention', onMention(ctx));
  app.message(onMessage(ctx));
  app.action(FEEDBACK_ACTION, onFeedback(ctx));
  if (installations) {
    app.event('app_uninstalled', onAppUninstalled(ctx, installations));
    app.event('tokens_revoked', onTokensRevoked(ctx, installations));
  }
  app.view(REASON_VIEW, onFeedbackReason(ctx));
  app.action(ASK_HUMAN_ACTION, onAskHuman(ctx));
  if (options.knowledge) {
    app.command('/kb', onKbCommand(ctx, options.knowledge));
    app.shortcut(
      { callback_id: SAVE_TO_KNOWLEDGE, type: 'message_action' },
      onSaveToKnowledge(ctx, options.knowledge),
    );
    // The digest's "Save as knowledge" button: the same save, from a digest item.
    app.action(SAVE_THREAD_ACTION, onSaveThreadButton(ctx, options.knowledge));
    // `/kb learn`: a ✅ on a thread in a learning channel saves it; taking it away removes it.
    app.event('reaction_added', onResolvedReaction(ctx, options.knowledge, true));
    app.event('reaction_removed', onResolvedReaction(ctx, options.knowledge, false));
  }
  app.error(async (error) => {
    const missing = error instanceof AuthorizationError ? missingInstallation(error) : undefined;
    if (missing) {
      const key = missing.id ?? missing.workspace;
      if (reportedMissing.has(key)) return;
      reportedMissing.add(key);
      log.warn(
        { workspace: missing.workspace },
        'ignoring Slack events from a workspace without an installation (not installed, or uninstalled); it can install again at /slack/install',
      );
      return;
    }
    log.error({ err: error }, 'unhandled error in a Slack handler');
  });

  return {
    name: 'slack',
    get port() {
      const address = server?.address() as AddressInfo | null | undefined;
      return address?.port;
    },
    async start() {
      if (config.oauth) {
        // No token of our own to check: each workspace's comes from its installation.
        const keys = await installations!.checkKeys();
        // One damaged installation must not silence every other workspace: said, and skipped.
        for (const problem of keys.damaged) log.error(problem);
        await app.init();
        server = (await app.start(options.port)) as Server;
        ready = true;
        log.info(
          {
            mode: 'http',
            port: this.port,
            installations: keys.installations,
            reencrypted: keys.reencrypted,
            store: installations!.description,
          },
          `Slack connected for any workspace: install at ${INSTALL_PATH}`,
        );
        return;
      }
      let auth: Awaited<ReturnType<typeof app.client.auth.test>>;
      try {
        await app.init();
        auth = await app.client.auth.test();
      } catch (error) {
        throw credentialProblem(error, config.apiURL);
      }
      startupBot = { userId: String(auth.user_id), ...(auth.bot_id ? { botId: String(auth.bot_id) } : {}) };
      homeTeam = auth.team_id ? String(auth.team_id) : undefined;
      workspaceUrls.setSingle(typeof auth.url === 'string' ? auth.url : undefined);
      const started: unknown = socketMode ? await app.start() : await app.start(options.port);
      if (!socketMode) server = started as Server;
      ready = true;
      log.info(
        {
          mode: socketMode ? 'socket' : 'http',
          port: socketMode ? undefined : this.port,
          botUserId: startupBot.userId,
        },
        'Slack connected',
      );
    },
    async stop() {
      ready = false;
      await app.stop();
      await installations?.close();
    },
    isReady: () => ready,
    receiverStats: () => door?.stats(),
  };
}
