/**
 * "Save #n as knowledge" on a digest: the same save as the "Save to knowledge base" message
 * command, for the thread the digest item points at (admins only unless SAVE_TO_KB=everyone),
 * answered privately.
 */
import { type ButtonInteraction, MessageFlags } from 'discord.js';
import { strings } from '../../../conversation/strings.js';
import { type KnowledgeService, savedMessage, saveFailureMessage } from '../../../knowledge/service.js';
import { parseSaveId } from '../../../records/digest-discord.js';
import type { DiscordContext } from '../context.js';
import { NO_PINGS } from '../format.js';
import { isDiscordAdmin } from './kb-admin.js';
import { saveDiscordThread } from './save-thread.js';

export function onSaveThreadButton(ctx: DiscordContext, knowledge: KnowledgeService) {
  return async (interaction: ButtonInteraction) => {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const reply = (content: string) => interaction.editReply({ content, allowedMentions: NO_PINGS });
    const target = parseSaveId(interaction.customId);
    if (!target) return void (await reply(strings.save.failed));
    const allowed =
      knowledge.settings.saveToKb === 'everyone' ||
      isDiscordAdmin(interaction, knowledge.settings.discordAdminRole);
    if (!allowed) return void (await reply(strings.save.notAllowed));
    try {
      // The digest names the thread; its starter message leads to the whole thread.
      const thread = await ctx.client.channels.fetch(target.thread);
      // A digest item may only be saved into the server it was asked in, by that server's admins.
      if (thread?.isThread() && thread.guildId !== interaction.guildId)
        return void (await reply(strings.save.notAllowed));
      const starter = thread?.isThread() ? await thread.fetchStarterMessage() : null;
      if (!starter) return void (await reply(strings.save.nothing));
      const saved = await saveDiscordThread(knowledge, starter, `discord:${interaction.user.id}`);
      await reply(savedMessage(saved));
    } catch (error) {
      ctx.log.error({ err: error }, 'could not save a thread from the digest');
      await reply(saveFailureMessage(error)).catch(() => undefined);
    }
  };
}
