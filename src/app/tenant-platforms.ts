/**
 * The platforms on which one bot serves several workspaces or servers (Discord always, Slack
 * installed by OAuth): as soon as there is one, every workspace is a tenant whose knowledge is
 * kept apart (KnowledgeService's `tenantPlatforms`). Read the same way by the bot and by the
 * command-line tools that write knowledge, so `npm run ingest` knows what the bot will do.
 */
import type { Config } from '../config.js';

export function tenantPlatforms(config: Pick<Config, 'discord' | 'slack'>): Set<string> {
  return new Set([...(config.discord ? ['discord'] : []), ...(config.slack?.oauth ? ['slack'] : [])]);
}
