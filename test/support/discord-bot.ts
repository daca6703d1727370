/**
 * A bot composed as `npm start` composes it, with its Discord front end connected to the
 * Discord fake and ready (READY and GUILD_CREATE received), edits unthrottled for tests.
 */
import { type Bot, composeBot } from '../../src/app/compose.js';
import type { Config } from '../../src/config.js';
import type { Logger } from '../../src/log.js';
import { createDiscordAdapter, type DiscordAdapterOptions } from '../../src/platforms/discord/index.js';
import type { PlatformAdapter } from '../../src/platforms/types.js';
import type { FakeDiscord } from '../fakes/discord/index.js';

export async function discordBotOn(
  discord: FakeDiscord,
  config: Config,
  logger: Logger,
  options: (bot: Bot) => Partial<DiscordAdapterOptions> = () => ({}),
): Promise<{ bot: Bot; adapter: PlatformAdapter }> {
  const bot = await composeBot(config, logger);
  const adapter = createDiscordAdapter({
    config: config.discord!,
    conversations: bot.conversations,
    knowledge: bot.knowledge,
    logger,
    editIntervalMs: 0,
    ...options(bot),
  });
  const ready = discord.waitForReady();
  await adapter.start();
  await ready;
  return { bot, adapter };
}
