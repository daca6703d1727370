/**
 * `/kb <subcommand>` in Discord: deferred privately at once, run through the shared `/kb`
 * runner (src/knowledge/commands.ts), answered in the private reply; the summary of a sync it
 * started comes as a private follow-up.
 */
import { type ChatInputCommandInteraction, MessageFlags } from 'discord.js';
import { strings } from '../../../conversation/strings.js';
import { type KbCommand, runKbCommand, type SettingChangeRequest } from '../../../knowledge/commands.js';
import type { KnowledgeService } from '../../../knowledge/service.js';
import { discordNeutralizer } from '../../../render/discord-text.js';
import type { SettingName } from '../../../tenants/settings-store.js';
import { type DiscordContext, firstInteraction } from '../context.js';
import { NO_PINGS } from '../format.js';
import { discordSettingsAccess } from '../tenant-settings.js';
import { isDiscordAdmin } from './kb-admin.js';
import { isPublicDiscordChannel } from './learn.js';

function commandOf(interaction: ChatInputCommandInteraction): KbCommand {
  const name = interaction.options.getSubcommand(false) ?? 'help';
  const text = (option: string) => interaction.options.getString(option) ?? undefined;
  switch (name) {
    case 'add': {
      const url = text('url');
      const collection = text('collection');
      return { name, ...(url ? { url } : {}), ...(collection ? { collection } : {}) };
    }
    case 'remove':
    case 'sync': {
      const source = text('source');
      return { name, ...(source ? { source } : {}) };
    }
    case 'use': {
      const collections = text('collections');
      return { name, ...(collections ? { collections } : {}) };
    }
    case 'learn':
      return { name, off: text('mode') === 'off' };
    case 'settings': {
      // Options carry ids (a role, a channel), as Discord sends them.
      const id = (option: string) => {
        const value = interaction.options.get(option)?.value;
        return typeof value === 'string' ? value : undefined;
      };
      const role = id('handoff_role');
      const channel = id('digest_channel');
      const clear = text('clear');
      const changes: SettingChangeRequest[] = [
        ...(role ? [{ setting: 'handoff' as const, value: role }] : []),
        ...(channel ? [{ setting: 'digest' as const, value: channel }] : []),
        ...(clear === 'handoff' || clear === 'digest'
          ? [{ setting: clear as SettingName, value: 'off' }]
          : []),
      ];
      return { name, changes };
    }
    case 'list':
    case 'status':
      return { name };
    default:
      return { name: 'unknown', word: name };
  }
}

const withSettings = <T>(settings: T | undefined) => (settings ? { settings } : {});

/** Discord allows 2,000 characters per message. */
function withinLimit(text: string): string {
  return text.length <= 2_000 ? text : `${text.slice(0, 1_990)}\n…`;
}

export function onKbCommand(ctx: DiscordContext, knowledge: KnowledgeService) {
  return async (interaction: ChatInputCommandInteraction) => {
    if (!(await firstInteraction(ctx.conversations, interaction.id))) return;
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const thread = interaction.channel?.isThread() ? interaction.channel : undefined;
    const result = await runKbCommand(knowledge, {
      command: commandOf(interaction),
      place: {
        platform: 'discord',
        channelId: interaction.channelId,
        ...(thread?.parentId ? { parentId: thread.parentId } : {}),
        ...(interaction.guildId ? { workspaceId: interaction.guildId } : {}),
        direct: !interaction.inGuild(),
      },
      actor: `discord:${interaction.user.id}`,
      isAdmin: async () => isDiscordAdmin(interaction, knowledge.settings.discordAdminRole),
      channelIsPublic: async () => isPublicDiscordChannel(interaction.channel),
      quote: discordNeutralizer.neutralize,
      ...withSettings(discordSettingsAccess(ctx, interaction.guild)),
      later: async (text) => {
        const content = withinLimit(text);
        await interaction
          .followUp({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS })
          .catch(async (error: unknown) => {
            // A long crawl can outlive the interaction's 15-minute token: tell the admin by DM.
            ctx.log.warn({ err: error }, 'could not follow up a /kb result; sending it by DM');
            await interaction.user
              .send({ content, allowedMentions: NO_PINGS })
              .catch((dmError: unknown) => ctx.log.warn({ err: dmError }, 'could not report a /kb result'));
          });
      },
    }).catch((error: unknown) => {
      ctx.log.error({ err: error }, '/kb failed');
      return { reply: strings.kb.failed };
    });
    await interaction.editReply({ content: withinLimit(result.reply), allowedMentions: NO_PINGS });
  };
}
