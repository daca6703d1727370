/**
 * Suggestions while typing `/kb`: sources (by number and URL) for `source`, collection names
 * for `collection` and `collections` (the last comma-separated name is completed). Shown to
 * admins only: the names are not for everyone's eyes.
 */
import type { AutocompleteInteraction } from 'discord.js';
import type { Place } from '../../../core/types.js';
import type { KnowledgeService } from '../../../knowledge/service.js';
import type { DiscordContext } from '../context.js';
import { isDiscordAdmin } from './kb-admin.js';

/** Discord shows at most 25 choices of at most 100 characters. */
const MAX_CHOICES = 25;
const clip = (text: string) => (text.length <= 100 ? text : `${text.slice(0, 99)}…`);

async function collectionNames(knowledge: KnowledgeService, place: Place): Promise<string[]> {
  const names = new Set((await knowledge.store.collections()).keys());
  for (const collections of knowledge.settings.routes.values())
    for (const name of collections) names.add(name);
  for (const source of await knowledge.sources()) names.add(source.collection);
  const all = [...names];
  const usable = await Promise.all(all.map((name) => knowledge.mayUse(place, name)));
  return all.filter((_, i) => usable[i]).sort();
}

export function onKbAutocomplete(ctx: DiscordContext, knowledge: KnowledgeService) {
  return async (interaction: AutocompleteInteraction) => {
    if (!isDiscordAdmin(interaction, knowledge.settings.discordAdminRole))
      return void (await interaction.respond([]));
    const place: Place = {
      platform: 'discord',
      channelId: interaction.channelId,
      ...(interaction.guildId ? { workspaceId: interaction.guildId } : {}),
    };
    const focused = interaction.options.getFocused(true);
    const typed = focused.value.trim().toLowerCase();
    let choices: { name: string; value: string }[] = [];
    try {
      if (focused.name === 'source') {
        choices = (await knowledge.sourcesFor(place))
          .map((source) => ({
            name: clip(`#${source.id} ${source.url} → ${source.collection}`),
            value: String(source.id),
          }))
          .filter((choice) => choice.name.toLowerCase().includes(typed));
      } else {
        const parts = focused.value.split(',');
        const head = parts
          .slice(0, -1)
          .map((part) => part.trim())
          .filter(Boolean);
        const last = (parts.at(-1) ?? '').trim().toLowerCase();
        const prefix = head.length > 0 ? `${head.join(',')},` : '';
        choices = (await collectionNames(knowledge, place))
          .filter((name) => name.startsWith(last) && !head.includes(name))
          // A value is what the command receives: one Discord would refuse (over 100
          // characters) is left out rather than cut into a name that does not exist.
          .map((name) => `${prefix}${name}`)
          .filter((value) => value.length <= 100)
          .map((value) => ({ name: clip(value), value }));
      }
    } catch (error) {
      ctx.log.warn({ err: error }, '/kb autocomplete failed');
    }
    await interaction.respond(choices.slice(0, MAX_CHOICES));
  };
}
