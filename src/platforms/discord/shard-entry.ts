/**
 * One Discord shard, spawned by the ShardingManager: discord.js reads its shard id and count
 * from the environment the manager sets. It builds its own core: instances share nothing.
 */
import { buildRuntime } from '../../app/runtime.js';
import { loadConfig } from '../../config.js';
import { createLogger } from '../../log.js';
import { DrainingAnswerer } from '../../ops/draining-answerer.js';
import { createDiscordAdapter } from './index.js';

const config = loadConfig();
const logger = createLogger({ level: config.log.level, format: config.log.format }).child({
  shard: process.env.SHARDS,
});
const runtime = await buildRuntime(config, { logger });
const answerer = new DrainingAnswerer(runtime.answerer);
const adapter = createDiscordAdapter({ config: config.discord!, answerer, logger });
await adapter.start();

const shutdown = async () => {
  await answerer.drain(config.limits.shutdownGraceMs);
  await adapter.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
