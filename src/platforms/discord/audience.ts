/**
 * Who can see a Discord conversation, for the answer records (and so the digest): everyone in
 * the server when @everyone may view the channel (its overwrites applied, from discord.js's
 * cache of the server); a public thread as its parent channel; a private thread, a DM or a
 * channel the cache does not know: restricted.
 */
import { type Channel, ChannelType, PermissionFlagsBits } from 'discord.js';
import type { Audience } from '../../conversation/conversation.js';

export function discordAudience(channel: Channel | null | undefined): Audience {
  if (!channel || channel.isDMBased()) return 'restricted';
  if (channel.isThread()) {
    return channel.type === ChannelType.PrivateThread ? 'restricted' : discordAudience(channel.parent);
  }
  const everyone = channel.guild.roles.everyone;
  return channel.permissionsFor(everyone).has(PermissionFlagsBits.ViewChannel) ? 'everyone' : 'restricted';
}
