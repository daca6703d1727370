/**
 * Who can see a Slack conversation, for the answer records (and so the digest): everyone in the
 * workspace only for a public channel that is not shared with another organisation or workspace,
 * as `conversations.info` says (the `channels:read` scope; a private channel's info needs
 * `groups:read`, which the bot does not ask for, so it reads as restricted, as it should). DMs,
 * group DMs, private and shared channels, and any channel Slack will not describe: restricted.
 * Answers are cached per channel for ten minutes, so a busy channel costs one call.
 */
import type { WebClient } from '@slack/web-api';
import type { Audience } from '../../conversation/conversation.js';
import type { Logger } from '../../log.js';

const TTL_MS = 10 * 60 * 1000;
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
