/** What every Discord handler needs: the client, the shared conversation layer and settings. */
import { type Client, DiscordAPIError } from 'discord.js';
import type { ConversationLayer } from '../../conversation/layer.js';
import type { Logger } from '../../log.js';
import type { TenantSettingsStore } from '../../tenants/settings-store.js';
import type { DiscordConfig } from './settings.js';

export interface DiscordContext {
  readonly client: Client;
  readonly config: DiscordConfig;
  readonly conversations: ConversationLayer;
  readonly log: Logger;
  /** Edit pacing, for tests; the default respects Discord's edit rate limits. */
  readonly editIntervalMs?: number;
  /** Each server's `/kb settings` (hand-off role, digest channel); absent: only the variables apply. */
  readonly tenants?: TenantSettingsStore;
  /** DIGEST_DISCORD_CHANNEL, shown in `/kb settings` in its server where the server chose none. */
  readonly digestChannel?: string;
}

/** Discord error codes for "the bot lacks a permission here". */
const MISSING_PERMISSION_CODES = new Set([50001, 50013]);

export function isMissingPermission(error: unknown): boolean {
  return error instanceof DiscordAPIError && MISSING_PERMISSION_CODES.has(Number(error.code));
}
