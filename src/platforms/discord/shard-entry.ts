/**
 * One Discord shard, spawned by the ShardingManager: discord.js reads its shard id and count
 * from the environment the manager sets. It is composed like every other process (the same
 * guards and conversation layer), and hands its metrics to the parent's /metrics.
 */
import { composeBot } from '../../app/compose.js';
import { onStopSignals } from '../../app/stop-signals.js';
import { loadConfig } from '../../config.js';
import { createLogger, logFormat } from '../../log.js';
import { serveMetricsToParent } from '../../ops/child-metrics.js';
import { createDiscordAdapter } from './index.js';

const config = loadConfig();
const logger = createLogger({ level: config.log.level, format: logFormat(config.log.format) }).child({
  shard: process.env.SHARDS,
});
// Rate limits and dedupe are shared across shards only through Redis (REDIS_URL).
const bot = await composeBot(config, logger);
serveMetricsToParent(bot.metrics.registry);
const adapter = createDiscordAdapter({
  config: config.discord!,
  conversations: bot.conversations,
  knowledge: bot.knowledge,
  logger,
  tenants: bot.tenantSettings,
  ...(config.digest.discordChannel ? { digestChannel: config.digest.discordChannel } : {}),
});
await adapter.start();
// With DATABASE_URL this shard's answers survive it: recorded, and finished by another if it dies.
bot.conversations.startHandover();

onStopSignals({
  onStop: () => void bot.stop([adapter]).then(() => process.exit(0)),
  onInsist: () => process.exit(1),
});
