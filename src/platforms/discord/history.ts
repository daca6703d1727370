/**
 * Conversation memory from Discord itself: a thread's messages (and the message it was
 * started from) or a DM's recent messages become the history for follow-ups.
 */
import type { Collection, Message, TextBasedChannel, ThreadChannel } from 'discord.js';
import type { Turn } from '../../core/types.js';
import { discordNeutralizer } from '../../render/discord-text.js';
import { stripMention } from './format.js';

/** Turns handed to the core; it trims further to its token budget. */
const MAX_MESSAGES = 40;

function toTurn(message: Message, botId: string): Turn | undefined {
  if (message.author.id === botId) {
    // Only the bot's answers count: not its notices or failure messages.
    const text = message.content.trim();
    // The model reads its earlier answer as it wrote it, not as neutralised for Discord.
    return text && !text.startsWith('⚠️')
      ? { role: 'assistant', text: discordNeutralizer.restore(text) }
      : undefined;
  }
  if (message.author.bot) return undefined;
  const text = stripMention(message.content, botId);
  return text ? { role: 'user', text } : undefined;
}

/** The messages before `before` that history (and a question's files) are read from. */
export function recentMessages(
  channel: TextBasedChannel,
  before: string,
): Promise<Collection<string, Message>> {
  return channel.messages.fetch({ limit: MAX_MESSAGES, before });
}

export async function channelHistory(
  channel: TextBasedChannel,
  before: string,
  botId: string,
  fetched?: Promise<Collection<string, Message>>,
): Promise<Turn[]> {
  const recent = await (fetched ?? recentMessages(channel, before));
  const turns = [...recent.values()]
    .sort((a, b) => a.createdTimestamp - b.createdTimestamp || (BigInt(a.id) < BigInt(b.id) ? -1 : 1))
    .map((message) => toTurn(message, botId))
    .filter((turn): turn is Turn => turn !== undefined);
  if (channel.isThread()) {
    const thread = channel as ThreadChannel;
    // Forced: a cached copy may predate the final edit of an answer.
    const starter = await thread.fetchStarterMessage({ force: true }).catch(() => null);
    // A forum post's opening message is the thread's starter and may be the question itself.
    const first = starter && starter.id !== before ? toTurn(starter, botId) : undefined;
    if (first) turns.unshift(first);
    // An /ask thread starts from the bot's answer; the question is the thread's name.
    if (first?.role === 'assistant')
      turns.unshift({ role: 'user', text: discordNeutralizer.restore(thread.name) });
  }
  return turns;
}
