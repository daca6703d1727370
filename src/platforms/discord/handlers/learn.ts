/**
 * `/kb learn` on Discord: in a channel that learns, a thread marked ✅ (or ✔️) by its asker or
 * a knowledge-base admin (MessageReactionAdd on any of its messages, or on the message it
 * started from) is saved as knowledge like "Save to knowledge base", and a forum post tagged
 * Solved, Resolved or Closed (ThreadUpdate) likewise; removing the mark or the tag removes it
 * again. A post discord.js has not cached (archived, or last active before the bot started)
 * gets no ThreadUpdate, only the gateway's THREAD_UPDATE: for it, its tags as they now are
 * decide. Only channels @everyone can see teach: a private channel's threads (or a private
 * thread) never become knowledge other places read.
 */
import {
  type APIThreadChannel,
  type Channel,
  ChannelType,
  type Client,
  type GuildMember,
  type Message,
  type MessageReaction,
  type PartialMessageReaction,
  type PartialUser,
  type ThreadChannel,
  type User,
} from 'discord.js';
import { isResolvedTag, RESOLVED_REACTIONS } from '../../../knowledge/learn.js';
import type { KnowledgeService } from '../../../knowledge/service.js';
import { discordAudience } from '../audience.js';
import type { DiscordContext } from '../context.js';
import { isDiscordAdminMember } from './kb-admin.js';
import { discordThreadLink, readDiscordThread } from './save-thread.js';

/** Whether @everyone can see the channel (for a thread: it is public and its parent is). */
export function isPublicDiscordChannel(channel: Channel | null | undefined): boolean {
  return discordAudience(channel) === 'everyone';
}

function placeOf(thread: ThreadChannel) {
  return {
    platform: 'discord',
    channelId: thread.id,
    ...(thread.parentId ? { parentId: thread.parentId } : {}),
    workspaceId: thread.guildId,
  };
}

/** The thread a message belongs to: the one it is in, or the one started from it. */
function threadOf(message: Message): ThreadChannel | null {
  if (message.channel.isThread()) return message.channel;
  return message.hasThread ? message.thread : null;
}

async function asker(thread: ThreadChannel, client: Client): Promise<string | undefined> {
  const starter = await thread.fetchStarterMessage().catch(() => null);
  // A thread the bot opened on a question (an @mention) starts from the asker's message.
  if (starter && starter.author.id !== client.user?.id) return starter.author.id;
  return thread.ownerId ?? undefined;
}

/** The mark a forum post's resolved tag counts as (a reaction's: who, on which message, which emoji). */
const TAG_MARK = 'tag';

async function learn(
  ctx: DiscordContext,
  knowledge: KnowledgeService,
  thread: ThreadChannel,
  by: string,
  mark: string,
) {
  if (!isPublicDiscordChannel(thread as Channel)) {
    ctx.log.info({ thread: thread.id }, 'not learning from a thread: the channel is not public');
    return;
  }
  const { permalink, messages } = await readDiscordThread(thread);
  const saved = await knowledge.learnThread({
    place: placeOf(thread),
    permalink,
    messages,
    by,
    mark,
  });
  if (saved) ctx.log.info({ thread: thread.id, collection: saved.collection }, 'learned a resolved thread');
}

async function unlearn(
  ctx: DiscordContext,
  knowledge: KnowledgeService,
  thread: ThreadChannel,
  mark: string,
) {
  const starter = await thread.fetchStarterMessage().catch(() => null);
  // The link it was learned by; if its starting message has been deleted since, that message's
  // link all the same (it carries the thread's id, in the parent channel or, for a forum post,
  // in the post itself).
  const links = new Set([
    discordThreadLink(thread, starter),
    `https://discord.com/channels/${thread.guildId}/${thread.parentId}/${thread.id}`,
    `https://discord.com/channels/${thread.guildId}/${thread.id}/${thread.id}`,
  ]);
  for (const link of links) {
    if (await knowledge.unlearnThread(link, mark)) {
      ctx.log.info({ thread: thread.id }, 'forgot an un-marked thread');
      return;
    }
  }
}

export function onResolvedReaction(ctx: DiscordContext, knowledge: KnowledgeService, added: boolean) {
  return async (
    reaction: MessageReaction | PartialMessageReaction,
    user: User | PartialUser,
  ): Promise<void> => {
    if (user.bot || !RESOLVED_REACTIONS.has(reaction.emoji.name ?? '')) return;
    const message = reaction.message.partial ? await reaction.message.fetch() : reaction.message;
    const thread = threadOf(message);
    if (!thread || !message.guild) return;
    if (!(await knowledge.learningIn(placeOf(thread)))) return;
    const member: GuildMember | null = await message.guild.members.fetch(user.id).catch(() => null);
    const allowed =
      user.id === (await asker(thread, ctx.client)) ||
      (member !== null && isDiscordAdminMember(member, knowledge.settings.discordAdminRole));
    if (!allowed) {
      ctx.log.debug(
        { thread: thread.id, user: user.id },
        'ignored a mark by someone who neither asked nor administers',
      );
      return;
    }
    const mark = `${user.id}/${message.id}/${reaction.emoji.name ?? ''}`;
    if (added) await learn(ctx, knowledge, thread, `discord:${user.id}`, mark);
    else await unlearn(ctx, knowledge, thread, mark);
  };
}

/** Whether any of a forum post's tags says it is resolved. */
function taggedResolved(thread: ThreadChannel, tags: readonly string[]): boolean {
  const forum = thread.parent;
  if (!forum || forum.type !== ChannelType.GuildForum) return false;
  return tags.some((id) => isResolvedTag(forum.availableTags.find((tag) => tag.id === id)?.name ?? ''));
}

/** A forum post's tags changed: tagged resolved → learned, the tag taken off → removed. */
export function onForumTags(ctx: DiscordContext, knowledge: KnowledgeService) {
  return async (before: ThreadChannel, after: ThreadChannel): Promise<void> => {
    if (after.parent?.type !== ChannelType.GuildForum) return;
    if (!(await knowledge.learningIn(placeOf(after)))) return;
    const was = taggedResolved(after, before.appliedTags ?? []);
    const is = taggedResolved(after, after.appliedTags);
    // Only the post's author and moderators can change its tags: Discord checks who.
    if (is && !was) await learn(ctx, knowledge, after, `discord:${after.ownerId ?? 'forum'}`, TAG_MARK);
    else if (was && !is) await unlearn(ctx, knowledge, after, TAG_MARK);
  };
}

/**
 * THREAD_UPDATE for a thread discord.js had not cached (it emits no ThreadUpdate then, having
 * no "before"): call with the gateway packet as it arrives (`Events.Raw`, before discord.js
 * caches it), and the post is learned or forgotten by its tags as they now are.
 */
export function onUncachedThreadUpdate(ctx: DiscordContext, knowledge: KnowledgeService) {
  return (packet: { t?: string | null; d?: unknown }): Promise<void> | undefined => {
    if (packet.t !== 'THREAD_UPDATE') return undefined;
    const data = packet.d as APIThreadChannel | undefined;
    if (!data?.id || ctx.client.channels.cache.has(data.id)) return undefined;
    return (async () => {
      // discord.js caches the thread from this very packet once the listener returns.
      await new Promise((resolve) => setImmediate(resolve));
      const cached = ctx.client.channels.cache.get(data.id);
      const thread = cached?.isThread() ? cached : await ctx.client.channels.fetch(data.id).catch(() => null);
      if (!thread?.isThread() || thread.parent?.type !== ChannelType.GuildForum) return;
      if (!(await knowledge.learningIn(placeOf(thread)))) return;
      if (taggedResolved(thread, data.applied_tags ?? [])) {
        await learn(ctx, knowledge, thread, `discord:${thread.ownerId ?? 'forum'}`, TAG_MARK);
      } else await unlearn(ctx, knowledge, thread, TAG_MARK);
    })();
  };
}
