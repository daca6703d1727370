/**
 * The "Save to knowledge base" message command: the thread the message is in (or the thread
 * started from it) becomes knowledge in the channel's collection, cited by the thread's first
 * message URL. Admins only unless SAVE_TO_KB=everyone; confirmed privately.
 * `saveDiscordThread` is the save itself, for any other Discord trigger to reuse.
 */
import {
  type Client,
  type Message,
  type MessageContextMenuCommandInteraction,
  MessageFlags,
  type ThreadChannel,
} from 'discord.js';
import { strings } from '../../../conversation/strings.js';
import {
  MAX_SAVED_THREAD_MESSAGES,
  type SavedThread,
  type ThreadMessage,
} from '../../../knowledge/save-thread.js';
import { type KnowledgeService, savedMessage, saveFailureMessage } from '../../../knowledge/service.js';
import { type DiscordContext, firstInteraction } from '../context.js';
import { NO_PINGS } from '../format.js';
import { isDiscordAdmin } from './kb-admin.js';

export { SAVE_TO_KNOWLEDGE_COMMAND } from '../command-names.js';

function role(message: Message, client: Client, first: boolean): ThreadMessage['role'] | undefined {
  if (message.author.id === client.user?.id) return first ? 'question' : 'bot';
  if (message.author.bot) return undefined;
  return first ? 'question' : 'human';
}

/**
 * A thread's messages as it is saved, oldest first: the message it started from and the newest
 * (MAX_SAVED_THREAD_MESSAGES in all, one call: Discord gives the newest first), and how many
 * were left out (by the thread's own count of its messages).
 */
async function threadMessages(
  thread: ThreadChannel,
): Promise<{ starter: Message | null; messages: Message[]; omitted: number }> {
  const fetched = [...(await thread.messages.fetch({ limit: MAX_SAVED_THREAD_MESSAGES })).values()].reverse();
  const starter = await thread.fetchStarterMessage().catch(() => null);
  const inThread = fetched.filter((message) => message.id !== starter?.id);
  const kept = starter
    ? [starter, ...inThread.slice(Math.max(0, inThread.length - (MAX_SAVED_THREAD_MESSAGES - 1)))]
    : fetched;
  // The thread's own count (not the starter), as Discord gives it now: the cached one only grows
  // with the messages this process saw arrive.
  const counted = (await thread.fetch().catch(() => thread)).messageCount ?? 0;
  const total = Math.max(counted, inThread.length) + (starter ? 1 : 0);
  return { starter, messages: kept, omitted: Math.max(0, total - kept.length) };
}

function asKnowledge(messages: readonly Message[], client: Client): ThreadMessage[] {
  const thread: ThreadMessage[] = [];
  for (const [index, message] of messages.entries()) {
    const kind = role(message, client, index === 0);
    if (!kind || !message.content.trim()) continue;
    thread.push({ role: kind, text: message.content, author: message.author.username });
  }
  return thread;
}

/**
 * The link a saved thread is known and cited by, the same however it is saved, learned or
 * forgotten: the message it started from, or, for a thread started on its own (no such
 * message), the thread itself. Its first message would not do: in a long thread the first
 * message read changes with each new reply, and the thread would be saved again under another link.
 */
export function discordThreadLink(
  thread: Pick<ThreadChannel, 'guildId' | 'id'>,
  starter: Pick<Message, 'url'> | null,
): string {
  return starter?.url ?? `https://discord.com/channels/${thread.guildId}/${thread.id}`;
}

/** A thread as knowledge sees it: its messages and its link. */
export async function readDiscordThread(
  thread: ThreadChannel,
): Promise<{ permalink: string; messages: ThreadMessage[]; omitted: number }> {
  const { starter, messages, omitted } = await threadMessages(thread);
  if (!starter && messages.length === 0) throw new Error('the thread has no messages to read');
  return {
    permalink: discordThreadLink(thread, starter),
    messages: asKnowledge(messages, thread.client),
    omitted,
  };
}

/** The messages of the thread `target` belongs to, oldest first, with the thread's link. */
async function readThread(
  target: Message,
): Promise<{ permalink: string; messages: Message[]; omitted: number }> {
  const channel = target.channel;
  const thread: ThreadChannel | null = channel.isThread() ? channel : target.hasThread ? target.thread : null;
  if (!thread) return { permalink: target.url, messages: [target], omitted: 0 };
  const { starter, messages, omitted } = await threadMessages(thread);
  return { permalink: discordThreadLink(thread, starter), messages, omitted };
}

export async function saveDiscordThread(
  knowledge: KnowledgeService,
  target: Message,
  savedBy: string,
): Promise<SavedThread> {
  const { permalink, messages, omitted } = await readThread(target);
  const thread = asKnowledge(messages, target.client);
  const channel = target.channel;
  const parentId = channel.isThread() ? (channel.parentId ?? undefined) : undefined;
  return knowledge.saveThread({
    place: {
      platform: 'discord',
      channelId: channel.id,
      ...(parentId ? { parentId } : {}),
      ...(target.guildId ? { workspaceId: target.guildId } : {}),
    },
    permalink,
    messages: thread,
    savedBy,
    omitted,
  });
}

export function onSaveToKnowledge(ctx: DiscordContext, knowledge: KnowledgeService) {
  return async (interaction: MessageContextMenuCommandInteraction) => {
    if (!(await firstInteraction(ctx.conversations, interaction.id))) return;
    const reply = (content: string) => interaction.editReply({ content, allowedMentions: NO_PINGS });
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const allowed =
      knowledge.settings.saveToKb === 'everyone' ||
      isDiscordAdmin(interaction, knowledge.settings.discordAdminRole);
    if (!allowed) return void (await reply(strings.save.notAllowed));
    try {
      const saved = await saveDiscordThread(
        knowledge,
        interaction.targetMessage,
        `discord:${interaction.user.id}`,
      );
      await reply(savedMessage(saved));
    } catch (error) {
      ctx.log.error({ err: error }, 'could not save a thread as knowledge');
      await reply(saveFailureMessage(error)).catch(() => undefined);
    }
  };
}
