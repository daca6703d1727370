/**
 * Who may manage the knowledge from Discord: members with Manage Server, and members holding
 * DISCORD_ADMIN_ROLE (a role id, or a role name matched without regard to case).
 */
import { type GuildMember, type Interaction, PermissionFlagsBits } from 'discord.js';

export function isDiscordAdmin(interaction: Interaction, adminRole: string | undefined): boolean {
  if (!interaction.inGuild()) return false;
  if (interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) return true;
  if (!adminRole) return false;
  const member = interaction.member;
  const roleIds: readonly string[] = Array.isArray(member.roles)
    ? member.roles
    : [...member.roles.cache.keys()];
  if (roleIds.includes(adminRole)) return true;
  const wanted = adminRole.toLowerCase();
  return roleIds.some((id) => interaction.guild?.roles.cache.get(id)?.name.toLowerCase() === wanted);
}

/** The same check for a member met outside an interaction (a reaction). */
export function isDiscordAdminMember(member: GuildMember, adminRole: string | undefined): boolean {
  if (member.permissions.has(PermissionFlagsBits.ManageGuild)) return true;
  if (!adminRole) return false;
  const wanted = adminRole.toLowerCase();
  return member.roles.cache.some((role) => role.id === adminRole || role.name.toLowerCase() === wanted);
}
