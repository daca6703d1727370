/**
 * `npm start`: every configured chat platform in one process, on one shared core.
 * Slack runs when SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID (any workspace that
 * installs it) is set (its HTTP receiver also serves /healthz and
 * /readyz on PORT), Discord when DISCORD_TOKEN is set (through the sharding manager when
 * DISCORD_SHARDS is set), the web chat when WEB_CHAT=true; without Slack's receiver a plain
 * server serves the routes. SIGTERM/SIGINT drain gracefully.
 */
import type { Server } from 'node:http';
import { composeBot } from './app/compose.js';
import { reportStartupFailure } from './app/startup-failure.js';
import { onStopSignals } from './app/stop-signals.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { knowledgeOverview } from './conversation/knowledge-overview.js';
import { cachedProbe, type FrontEnd, healthRoutes } from './http/health.js';
import { startHttpServer } from './http/server.js';
import { createLogger, type Logger, logFormat } from './log.js';
import type { SlackInstallations } from './platforms/slack/installations.js';
import type { PlatformAdapter } from './platforms/types.js';
import { digestFromConfig } from './records/digest-setup.js';

const NOTHING_TO_RUN = `No chat platform is configured, so there is nothing to start.
Set one of these (see .env.example and the README):
  - Slack:   SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode),
             or, to install in any workspace, SLACK_CLIENT_ID, SLACK_CLIENT_SECRET,
             SLACK_STATE_SECRET, SLACK_INSTALLATION_KEY and SLACK_SIGNING_SECRET
  - Discord: DISCORD_TOKEN and DISCORD_APPLICATION_ID
  - Web chat: WEB_CHAT=true
To ask questions without a chat platform, use: npm run ask (terminal) or npm run web (browser)`;

async function run(config: Config, log: Logger): Promise<void> {
  const bot = await composeBot(config, log);
  const { conversations, runtime } = bot;
  const adapters: PlatformAdapter[] = [];
  let shuttingDown = false;
  // Set once the HTTP server that serves the routes (ours, or Slack's receiver) listens.
  let serving = false;
  let shardMetrics: (() => Promise<object[][]>) | undefined;
  const webChat: FrontEnd[] = config.web.enabled ? [{ name: 'web', isReady: () => serving }] : [];
  const routes = [
    ...healthRoutes({
      frontEnds: () => [...adapters, ...webChat],
      draining: () => shuttingDown,
      storeReachable: cachedProbe(() => runtime.store.stats()),
    }),
    bot.metrics.route(() => shardMetrics?.() ?? Promise.resolve([])),
  ];
  if (config.web.enabled) {
    const { createWebChat, webChatOptions } = await import('./web/index.js');
    routes.push(...createWebChat(webChatOptions(config, conversations, log)).routes);
  }

  let server: Server | undefined;
  // Each platform's SDK is loaded only when it is configured (Bolt alone is ~30 MB resident).
  // Installing in any workspace: installations in PostgreSQL, Redis or the bot's own database.
  let installations: SlackInstallations | undefined;
  if (config.slack) {
    const { createSlackAdapter } = await import('./platforms/slack/index.js');
    const { openInstallationStore } = await import('./platforms/slack/installations.js');
    const { oauth } = config.slack;
    installations = oauth
      ? await openInstallationStore({
          installationKey: oauth.installationKey,
          ...(config.limits.redisURL ? { redisURL: config.limits.redisURL } : {}),
          ...(bot.database ? { database: bot.database } : {}),
          appDatabase: () => bot.appDatabase(),
        })
      : undefined;
    adapters.push(
      createSlackAdapter({
        config: config.slack,
        port: config.http.port,
        conversations,
        knowledge: bot.knowledge,
        routes,
        logger: log,
        // Installing in any workspace: installations in Redis (REDIS_URL) or the bot's own database.
        ...(installations ? { installations } : {}),
        overview: knowledgeOverview(runtime.store, {
          collectionsFor: (place) => bot.knowledge.collectionsFor(place),
        }),
        tenants: bot.tenantSettings,
        ...(config.digest.slackChannel ? { digestChannel: config.digest.slackChannel } : {}),
      }),
    );
  }
  if (config.discord) {
    if (config.discord.shards) {
      const { createShardedDiscord } = await import('./platforms/discord/sharding.js');
      const sharded = createShardedDiscord({ config: config.discord, logger: log });
      shardMetrics = sharded.shardMetrics;
      adapters.push(sharded);
    } else {
      const { createDiscordAdapter } = await import('./platforms/discord/index.js');
      adapters.push(
        createDiscordAdapter({
          config: config.discord,
          conversations,
          knowledge: bot.knowledge,
          logger: log,
          tenants: bot.tenantSettings,
          ...(config.digest.discordChannel ? { digestChannel: config.digest.discordChannel } : {}),
        }),
      );
    }
  }
  // Slack's HTTP receiver serves the routes on PORT; otherwise they need a server of their own.
  if (!config.slack || config.slack.appToken) {
    server = await startHttpServer(config.http.port, routes);
    serving = true;
  }
  for (const adapter of adapters) await adapter.start();
  serving = true;
  // With DATABASE_URL: answers in flight are recorded, and those of a dead instance finished here.
  conversations.startHandover();
  // The digest of failed questions, posted once per period whichever instance gets there first.
  // With REDIS_URL, instances on other hosts (other app.db files) also agree on who posts.
  // Each workspace's or server's channel (/kb settings), and the configured ones.
  const digest = await digestFromConfig(config, bot.records, log, {
    ...(config.limits.redisURL
      ? { sharedClaim: (key: string, ttlMs: number) => bot.shared.dedupe.firstSeen(key, ttlMs) }
      : {}),
    tenants: bot.tenantSettings,
    ...(installations
      ? {
          slackToken: async (teamId: string) =>
            (
              await installations!.fetchInstallation({
                teamId,
                enterpriseId: undefined,
                isEnterpriseInstall: false,
              })
            ).bot?.token,
        }
      : {}),
  });
  digest?.start();
  bot.startSyncSchedule();
  log.info(
    {
      platforms: [...adapters.map((a) => a.name), ...(config.web.enabled ? ['web'] : [])],
      port: config.http.port,
      setup: runtime.describe(),
    },
    'rag-chat-bot started',
  );

  const closeServer = {
    stop: () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
  };
  onStopSignals({
    onStop: (signal) => {
      shuttingDown = true;
      log.info({ signal }, 'stop requested');
      const stopDigest = { stop: async () => digest?.stop() };
      void bot.stop([...adapters, closeServer, stopDigest]).then(() => {
        log.info('stopped');
        process.exit(0);
      });
    },
    onInsist: (signal) => {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    },
  });
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  if (!config.slack && !config.discord && !config.web.enabled) {
    process.stderr.write(`${NOTHING_TO_RUN}\n`);
    process.exit(1);
  }
  // On a terminal, unless LOG_FORMAT says otherwise, logs and a failure to start are for a person.
  const readable = logFormat(config.log.format) === 'pretty';
  const log = createLogger({ level: config.log.level, format: readable ? 'pretty' : 'json' });
  try {
    await run(config, log);
  } catch (error) {
    await reportStartupFailure(
      error,
      { port: config.http.port, dataDir: config.rag.dataDir },
      {
        readable,
        debug: log.isLevelEnabled('debug'),
        log,
        write: (text) => process.stderr.write(text),
      },
    );
    process.exit(1);
  }
}

await main();
