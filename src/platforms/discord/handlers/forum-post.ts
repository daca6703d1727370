/**
 * Forum channels: a new post is a thread whose first message shares the thread's id. When that
 * message mentions the bot, the post's title is part of the question (people often write the
 * question there and details below), and the answer goes in the post.
 */
import { ChannelType, type Message } from 'discord.js';

const FORUM_TYPES: ReadonlySet<ChannelType> = new Set([ChannelType.GuildForum, ChannelType.GuildMedia]);

/** True for the opening message of a forum or media channel post. */
export function isForumPostStart(message: Message): boolean {
  const channel = message.channel;
  const parentType = channel.isThread() ? channel.parent?.type : undefined;
  return message.id === channel.id && parentType !== undefined && FORUM_TYPES.has(parentType);
}

/** The question a message asks: for a forum post's opening message, its title then its text. */
export function forumPostQuestion(message: Message, text: string): string {
  if (!isForumPostStart(message) || !message.channel.isThread()) return text;
  const title = message.channel.name.trim();
  return [title, text].filter(Boolean).join('\n\n');
}
