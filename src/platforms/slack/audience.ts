/**
 * Who can see a Slack conversation, for the answer records (and so the digest): everyone in the
 * workspace only for a public channel that is not shared with another organisation or workspace,
 * as `conversations.info` says (the `channels:read` scope; a private channel's info needs
 * `groups:read`, which the bot does not ask for, so it reads as restricted, as it should). DMs,
 * group DMs, private and shared channels, and any channel Slack will not describe: restricted.
 * Answers are cached per channel for a minute, so a busy channel costs one call a minute; a
 * channel made private (Slack posts a `channel_convert_to_private` message in it, delivered
 * with the channel's messages) is forgotten at once, so its next answer is recorded as such.
 */
import type { WebClient } from '@slack/web-api';
import type { Audience } from '../../conversation/conversation.js';
import type { Logger } from '../../log.js';

const TTL_MS = 60 * 1000;
const MAX_CHANNELS = 5_000;
const cache = new Map<string, { at: number; audience: Audience }>();
let warnedScope = false;

interface ChannelInfo {
  readonly is_channel?: boolean;
  readonly is_private?: boolean;
  readonly is_im?: boolean;
  readonly is_mpim?: boolean;
  readonly is_shared?: boolean;
  readonly is_ext_shared?: boolean;
  readonly is_org_shared?: boolean;
  readonly is_pending_ext_shared?: boolean;
}

export function audienceOf(channel: ChannelInfo | undefined): Audience {
  if (!channel) return 'restricted';
  const shared =
    channel.is_shared || channel.is_ext_shared || channel.is_org_shared || channel.is_pending_ext_shared;
  return channel.is_channel && !channel.is_private && !channel.is_im && !channel.is_mpim && !shared
    ? 'everyone'
    : 'restricted';
}

/** Slack's notices in a channel whose audience changed: its cached audience is forgotten. */
export const AUDIENCE_CHANGES: ReadonlySet<string> = new Set([
  'channel_convert_to_private',
  'channel_convert_to_public',
]);

/** Forgets what was cached about `channel`, for every workspace's token. */
export function forgetAudience(channel: string): void {
  for (const key of [...cache.keys()]) if (key.endsWith(`:${channel}`)) cache.delete(key);
}

export async function slackAudience(
  client: WebClient,
  channel: string,
  log: Logger,
  now: () => number = Date.now,
): Promise<Audience> {
  if (channel.startsWith('D')) return 'restricted';
  const key = `${client.token ?? ''}:${channel}`;
  const hit = cache.get(key);
  if (hit && now() - hit.at < TTL_MS) return hit.audience;
  let audience: Audience;
  try {
    const info = await client.conversations.info({ channel });
    audience = audienceOf(info.channel as ChannelInfo | undefined);
  } catch (error) {
    const code = (error as { data?: { error?: string; needed?: string } }).data;
    if (code?.error === 'missing_scope' && code.needed === 'channels:read' && !warnedScope) {
      warnedScope = true;
      log.warn(
        'the Slack app lacks the channels:read scope, so no channel counts as public and the digest stays empty; add the scope and reinstall (see commands/slack-manifest.json)',
      );
    }
    audience = 'restricted';
  }
  cache.delete(key);
  cache.set(key, { at: now(), audience });
  if (cache.size > MAX_CHANNELS) cache.delete(cache.keys().next().value!);
  return audience;
}
