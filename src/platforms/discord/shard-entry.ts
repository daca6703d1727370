/**
 * One Discord shard, spawned by the ShardingManager: discord.js reads its shard id and count
 * from the environment the manager sets. It builds its own core: instances share nothing.
 */
import { guardAnswerer } from '../../app/guarded.js';
import { buildRuntime } from '../../app/runtime.js';
import { loadConfig } from '../../config.js';
import { createLogger } from '../../log.js';
import { createSharedState } from '../../ops/shared-state.js';
import { createDiscordAdapter } from './index.js';

const config = loadConfig();
const logger = createLogger({ level: config.log.level, format: config.log.format }).child({
  shard: process.env.SHARDS,
});
const runtime = await buildRuntime(config, { logger });
// Rate limits are shared across shards only through Redis (REDIS_URL); otherwise per shard.
const shared = await createSharedState(config.limits.redisURL, logger);
const { answerer, draining } = guardAnswerer(runtime.answerer, config, shared.rates);
const adapter = createDiscordAdapter({
  config: config.discord!,
  answerer,
  logger,
  maxQuestionChars: config.rag.maxQuestionChars,
});
await adapter.start();

const shutdown = async () => {
  await draining.drain(config.limits.shutdownGraceMs);
  await adapter.stop();
  await shared.close();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
