/**
 * Discord sharding through discord.js's own ShardingManager: one child process per shard,
 * each running the whole bot for its share of servers (src/platforms/discord/shard-entry).
 * Needed past ~2,500 servers, when Discord requires it; DISCORD_SHARDS=auto asks Discord.
 */
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REST, Routes, ShardingManager } from 'discord.js';
import { type Logger, silentLogger } from '../../log.js';
import { requestChildMetrics } from '../../ops/child-metrics.js';
import type { PlatformAdapter } from '../types.js';
import { loginProblem } from './login-problem.js';
import type { DiscordConfig } from './settings.js';

/**
 * Discord's recommended shard count, asked through DISCORD_API_URL when one is set. Asked
 * before any shard is spawned, so a refused token stops the start with one clear sentence
 * instead of shards dying and respawning.
 */
async function recommendedShards(config: DiscordConfig): Promise<number> {
  const rest = new REST(config.apiURL ? { api: config.apiURL } : {}).setToken(config.token);
  try {
    const gateway = (await rest.get(Routes.gatewayBot())) as { shards: number };
    return Math.max(1, gateway.shards);
  } catch (error) {
    throw loginProblem(error, config.apiURL);
  }
}

export interface ShardedDiscord extends PlatformAdapter {
  /** Each shard's metrics, for the parent's /metrics: every answer counts wherever it ran. */
  shardMetrics(): Promise<object[][]>;
}

export function createShardedDiscord(options: { config: DiscordConfig; logger?: Logger }): ShardedDiscord {
  const { config } = options;
  const log = (options.logger ?? silentLogger).child({ platform: 'discord' });
  // The same extension as this file: .ts under tsx in development, .js when compiled.
  const here = fileURLToPath(import.meta.url);
  const entry = join(here, '..', `shard-entry${extname(here)}`);
  let manager: ShardingManager | undefined;
  let expected = 0;
  return {
    name: 'discord',
    async start() {
      const recommended = await recommendedShards(config);
      const totalShards = config.shards === 'auto' ? recommended : (config.shards ?? 1);
      expected = totalShards;
      manager = new ShardingManager(entry, {
        token: config.token,
        totalShards,
        respawn: true,
        // Children inherit the loader flags (tsx in development) so they can run this code.
        execArgv: process.execArgv,
      });
      manager.on('shardCreate', (shard) => {
        log.info({ shardId: shard.id, totalShards }, 'Discord shard launched');
        shard.on('death', () => log.warn({ shardId: shard.id }, 'Discord shard exited; respawning'));
      });
      await manager.spawn({ amount: totalShards, timeout: 60_000 });
      log.info({ totalShards }, 'Discord connected through the sharding manager');
    },
    async stop() {
      // Each shard drains its own answers on SIGTERM before exiting.
      for (const shard of manager?.shards.values() ?? []) shard.kill();
    },
    async shardMetrics() {
      const shards = [...(manager?.shards.values() ?? [])];
      const replies = await Promise.all(shards.map((shard) => requestChildMetrics(shard)));
      return replies.filter((metrics) => metrics !== undefined);
    },
    // Shards start about 5 s apart (Discord's identify spacing): ready once every one is.
    isReady: () =>
      Boolean(
        manager &&
          expected > 0 &&
          manager.shards.size === expected &&
          [...manager.shards.values()].every((s) => s.ready),
      ),
  };
}
