/** Discord presentation: the sources embed, feedback buttons, and the "no pings" rule. */
import {
  ActionRowBuilder,
  type APIEmbed,
  ButtonBuilder,
  ButtonStyle,
  EmbedBuilder,
  type MessageActionRowComponentBuilder,
} from 'discord.js';
import { strings } from '../../conversation/strings.js';
import { safeHttpUrl } from '../../core/sources.js';
import type { Source } from '../../core/types.js';
import { discordNeutralizer, discordPlainText } from '../../render/discord-text.js';
import { safeCut } from '../../render/split-markdown.js';

/** Discord's limit on message content. */
export const MESSAGE_LIMIT = 2_000;
/** Nothing the bot sends may ping anyone: not @everyone/@here, roles, or users. */
export const NO_PINGS = { parse: [], repliedUser: false } as const;
export const FEEDBACK_PREFIX = 'feedback:';
/** "Ask a human" under an answer: `ask_a_human:<question id>` (only with ESCALATION_DISCORD_ROLE). */
export const ASK_HUMAN_PREFIX = 'ask_a_human:';

/** Discord's limit on an embed's description. */
const EMBED_DESCRIPTION_LIMIT = 4_096;

/**
 * A masked link's target: web addresses only, with the characters that would end it (`(`,
 * `)`) encoded, and `@` after the host too, so no copy of the link reads as a mention.
 */
function discordLinkTarget(url: string | undefined): string | undefined {
  const safe = safeHttpUrl(url);
  if (!safe) return undefined;
  const { origin, pathname, search, hash } = new URL(safe); // credentials are left out
  const rest = `${pathname}${search}${hash}`.replace(
    /[()@]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${origin}${rest}`;
}

/** One line of text we did not write, shortened on a whole character, then made literal. */
const literal = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return discordPlainText(flat.length > max ? `${flat.slice(0, safeCut(flat, max - 1))}…` : flat);
};

/** One source line: number, title (linked when it has a web address), its sections when several, where it lives. */
/** Sections named beside a source with several passages; more are shown as an ellipsis. */
const MAX_SECTIONS = 6;

function sourceLine(source: Source): string {
  const title = literal(source.title, 200);
  const target = discordLinkTarget(source.url);
  const passages = source.passages ?? [];
  const named = [...new Set(passages.map((passage) => literal(passage.section ?? source.title, 80)))];
  const sections =
    passages.length > 1
      ? ` (${named.slice(0, MAX_SECTIONS).join(' · ')}${named.length > MAX_SECTIONS ? ' · …' : ''})`
      : '';
  return target
    ? `**[${source.index}]** [${title}](${target})${sections}`
    : `**[${source.index}]** ${title}${sections} — ${literal(source.location ?? source.source, 200)}`;
}

export function sourcesEmbed(
  sources: readonly Source[],
  alsoSearched: readonly Source[] = [],
): APIEmbed | undefined {
  if (sources.length === 0) return undefined;
  const lines = sources.map(sourceLine);
  if (alsoSearched.length > 0) {
    lines.push(
      `*${strings.alsoSearched}:* ${alsoSearched.map((source) => literal(source.title, 100)).join(', ')}`,
    );
  }
  // Whole lines only: a cut line could end in half an escape or half a link.
  const kept: string[] = [];
  let length = 0;
  for (const line of lines) {
    if (length + line.length + 1 > EMBED_DESCRIPTION_LIMIT) break;
    kept.push(line);
    length += line.length + 1;
  }
  // A first line too long for the embed (a link of thousands of characters): no embed, rather
  // than one Discord refuses with the answer.
  if (kept.length === 0) return undefined;
  return new EmbedBuilder()
    .setTitle(strings.sourcesHeading)
    .setDescription(kept.join('\n'))
    .setColor(0x5865f2)
    .toJSON();
}

export function feedbackRow(
  questionId: string,
  options: { askHuman?: boolean } = {},
): ActionRowBuilder<MessageActionRowComponentBuilder> {
  const row = new ActionRowBuilder<MessageActionRowComponentBuilder>().addComponents(
    new ButtonBuilder()
      .setCustomId(`${FEEDBACK_PREFIX}up:${questionId}`)
      .setEmoji('👍')
      .setStyle(ButtonStyle.Secondary),
    new ButtonBuilder()
      .setCustomId(`${FEEDBACK_PREFIX}down:${questionId}`)
      .setEmoji('👎')
      .setStyle(ButtonStyle.Secondary),
  );
  if (options.askHuman) {
    row.addComponents(
      new ButtonBuilder()
        .setCustomId(`${ASK_HUMAN_PREFIX}${questionId}`)
        .setEmoji('🙋')
        .setLabel(strings.askHuman)
        .setStyle(ButtonStyle.Secondary),
    );
  }
  return row;
}

/** A thread name from the question (neutralised): Discord allows 1–100 characters. */
export function threadName(question: string): string {
  const flat = discordNeutralizer.neutralize(question.replace(/\s+/g, ' ').trim()) || 'Question';
  return flat.length <= 100 ? flat : `${flat.slice(0, safeCut(flat, 99))}…`;
}

export function stripMention(content: string, botId: string): string {
  return content.replace(new RegExp(`<@!?${botId}>`, 'g'), '').trim();
}
