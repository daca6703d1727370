/** What every Discord handler needs: the client, the shared conversation layer and settings. */
import { type Client, DiscordAPIError } from 'discord.js';
import type { ConversationLayer } from '../../conversation/layer.js';
import type { Logger } from '../../log.js';
import type { DiscordConfig } from './settings.js';

export interface DiscordContext {
  readonly client: Client;
  readonly config: DiscordConfig;
  readonly conversations: ConversationLayer;
  readonly log: Logger;
  /** Edit pacing, for tests; the default respects Discord's edit rate limits. */
  readonly editIntervalMs?: number;
}

/** Discord error codes for "the bot lacks a permission here". */
const MISSING_PERMISSION_CODES = new Set([50001, 50013]);

export function isMissingPermission(error: unknown): boolean {
  return error instanceof DiscordAPIError && MISSING_PERMISSION_CODES.has(Number(error.code));
}
