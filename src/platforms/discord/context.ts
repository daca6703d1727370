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

/**
 * Discord shows "The application did not respond" to an interaction not answered within 3 s,
 * and the check that another instance has not taken it runs first: it may take at most this
 * long (a busy or hung shared store), after which the interaction counts as ours. Handling one
 * twice is rare and harmless; an interaction left silent is lost.
 */
export const INTERACTION_CHECK_MS = 500;

/** Whether this process should handle the interaction `id` (see INTERACTION_CHECK_MS). */
export async function firstInteraction(conversations: ConversationLayer, id: string): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), INTERACTION_CHECK_MS);
  });
  try {
    return await Promise.race([conversations.firstDelivery('discord', id).catch(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
