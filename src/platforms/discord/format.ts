/** Discord presentation: the sources embed, feedback buttons, and the "no pings" rule. */
import {
  ActionRowBuilder,
  type APIEmbed,
  ButtonBuilder,
  ButtonStyle,
  EmbedBuilder,
  escapeMarkdown,
  type MessageActionRowComponentBuilder,
} from 'discord.js';
import type { Source } from '../../core/types.js';

/** Discord's limit on message content. */
export const MESSAGE_LIMIT = 2_000;
/** Nothing the bot sends may ping anyone: not @everyone/@here, roles, or users. */
export const NO_PINGS = { parse: [], repliedUser: false } as const;
export const FEEDBACK_PREFIX = 'feedback:';

export function sourcesEmbed(sources: readonly Source[]): APIEmbed | undefined {
  if (sources.length === 0) return undefined;
  const lines = sources.map((source) => {
    const title = escapeMarkdown(source.title).replace(/[[\]]/g, '').slice(0, 200);
    return source.url
      ? `**[${source.index}]** [${title}](${source.url})`
      : `**[${source.index}]** ${title} — \`${source.source}\``;
  });
  return new EmbedBuilder()
    .setTitle('Sources')
    .setDescription(lines.join('\n').slice(0, 4_000))
    .setColor(0x5865f2)
    .toJSON();
}

export function feedbackRow(questionId: string): ActionRowBuilder<MessageActionRowComponentBuilder> {
  return new ActionRowBuilder<MessageActionRowComponentBuilder>().addComponents(
    new ButtonBuilder()
      .setCustomId(`${FEEDBACK_PREFIX}up:${questionId}`)
      .setEmoji('👍')
      .setStyle(ButtonStyle.Secondary),
    new ButtonBuilder()
      .setCustomId(`${FEEDBACK_PREFIX}down:${questionId}`)
      .setEmoji('👎')
      .setStyle(ButtonStyle.Secondary),
  );
}

/** A thread name from the question: Discord allows 1–100 characters. */
export function threadName(question: string): string {
  const flat = question.replace(/\s+/g, ' ').trim() || 'Question';
  return flat.length <= 100 ? flat : `${flat.slice(0, 99)}…`;
}

export function stripMention(content: string, botId: string): string {
  return content.replace(new RegExp(`<@!?${botId}>`, 'g'), '').trim();
}
