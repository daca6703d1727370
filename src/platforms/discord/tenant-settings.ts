/**
 * A Discord server's `/kb settings`: the role "Ask a human" mentions and the channel its digest
 * goes to, checked when an admin sets them (the role exists, is not @everyone and the bot may
 * mention it; the bot can see and post in the channel), and the role that applies to a
 * question: the server's own, else ESCALATION_DISCORD_ROLE where the server has that role.
 */
import { ChannelType, type Guild, PermissionFlagsBits } from 'discord.js';
import type { KbSettingsAccess } from '../../knowledge/commands.js';
import { discordPlainText } from '../../render/discord-text.js';
import type { ChosenTarget, SettingName } from '../../tenants/settings-store.js';
import type { DiscordContext } from './context.js';

/** The role "Ask a human" mentions in `guild`, if any (one that still exists there). */
export async function discordHandoffRole(
  ctx: DiscordContext,
  guild: Guild | null | undefined,
): Promise<string | undefined> {
  if (!guild) return undefined;
  if (ctx.tenants) {
    try {
      const chosen = (await ctx.tenants.get('discord', guild.id)).handoff;
      if (chosen) return guild.roles.cache.has(chosen.id) ? chosen.id : undefined;
    } catch (error) {
      ctx.log.warn({ err: error }, "could not read the server's settings; using the configured role");
    }
  }
  const role = ctx.config.escalationRole;
  return role && guild.roles.cache.has(role) ? role : undefined;
}

async function checkRole(guild: Guild, id: string): Promise<ChosenTarget | { problem: string }> {
  const role = guild.roles.cache.get(id) ?? (await guild.roles.fetch(id).catch(() => null));
  if (!role) return { problem: 'that role is not one of this server’s' };
  if (role.id === guild.id) return { problem: '@everyone would ping the whole server: pick a team’s role' };
  const me = guild.members.me ?? (await guild.members.fetchMe().catch(() => null));
  if (!role.mentionable && !me?.permissions.has(PermissionFlagsBits.MentionEveryone)) {
    return {
      problem: `I may not mention @${discordPlainText(role.name)}: make it mentionable (Server Settings → Roles → ${discordPlainText(role.name)} → Allow anyone to @mention this role), or give me the “Mention @everyone, @here, and All Roles” permission`,
    };
  }
  return { id: role.id, label: role.name };
}

const POSTABLE = new Set([ChannelType.GuildText, ChannelType.GuildAnnouncement]);

async function checkChannel(guild: Guild, id: string): Promise<ChosenTarget | { problem: string }> {
  const channel = guild.channels.cache.get(id) ?? (await guild.channels.fetch(id).catch(() => null));
  if (!channel) return { problem: 'that channel is not one of this server’s, or I cannot see it' };
  if (!POSTABLE.has(channel.type)) return { problem: `<#${channel.id}> is not a text channel` };
  const me = guild.members.me ?? (await guild.members.fetchMe().catch(() => null));
  const allowed = me ? channel.permissionsFor(me) : null;
  if (!allowed?.has([PermissionFlagsBits.ViewChannel, PermissionFlagsBits.SendMessages])) {
    return {
      problem: `I cannot post in <#${channel.id}>: give me View Channel and Send Messages there, then set it again`,
    };
  }
  return { id: channel.id, label: channel.name };
}

/** `/kb settings` in a Discord server. */
export function discordSettingsAccess(
  ctx: DiscordContext,
  guild: Guild | null | undefined,
): KbSettingsAccess | undefined {
  if (!ctx.tenants || !guild) return undefined;
  const role = ctx.config.escalationRole;
  const digest = ctx.digestChannel;
  return {
    store: ctx.tenants,
    fallback: {
      ...(role && guild.roles.cache.has(role)
        ? {
            handoff: {
              id: role,
              label: guild.roles.cache.get(role)?.name ?? role,
              variable: 'ESCALATION_DISCORD_ROLE',
            },
          }
        : {}),
      ...(digest && guild.channels.cache.has(digest)
        ? { digest: { id: digest, label: digest, variable: 'DIGEST_DISCORD_CHANNEL' } }
        : {}),
    },
    check: (setting: SettingName, raw: string) => {
      const id = /^\d{15,25}$/.test(raw) ? raw : undefined;
      if (!id) return Promise.resolve({ problem: 'pick it from the list Discord offers' });
      return setting === 'handoff' ? checkRole(guild, id) : checkChannel(guild, id);
    },
    // Replies allow no mentions, so a role and a channel are shown by name.
    describe: (setting, target) =>
      setting === 'handoff' ? `@${discordPlainText(target.label)}` : `<#${target.id}>`,
  };
}
