/**
 * `/kb learn` on Slack: in a channel that learns, a thread the asker or a knowledge-base admin
 * marks with ✅ (`reaction_added` with `white_check_mark` or `heavy_check_mark`, on the thread's
 * first message or any reply) is saved as knowledge like "Save to knowledge base", and taking
 * the last such mark away again (`reaction_removed`) removes it: each mark is remembered (who,
 * on which message, with which emoji), so one person taking theirs away leaves a thread another
 * qualifying person still marks. Public channels only: a channel Slack
 * reports as private (or cannot describe) never teaches. Reactions by anyone else, other
 * emoji and items other than messages are ignored.
 */
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs, webApi } from '@slack/bolt';
import { strings } from '../../../conversation/strings.js';
import { RESOLVED_REACTIONS } from '../../../knowledge/learn.js';
import { type KnowledgeService, LearnRefusedError } from '../../../knowledge/service.js';
import { audienceOf } from '../audience.js';
import type { SlackContext } from '../context.js';
import { QUESTION_EVENT } from '../history.js';
import { authorisedTeam } from '../tenant.js';
import { isSlackAdmin } from './kb-admin.js';
import { readSlackThread } from './save-thread.js';

interface RootMessage {
  ts?: string;
  thread_ts?: string;
  user?: string;
  reply_count?: number;
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
}

/**
 * Whether the channel is public as the answer records count it (`audienceOf`: a public channel
 * not shared with another organisation), from `conversations.info` (`channels:read`). An app
 * installed before it needed that scope is told so, rather than that the channel is private.
 */
export async function isPublicSlackChannel(client: webApi.WebClient, channel: string): Promise<boolean> {
  if (!channel.startsWith('C')) return false;
  try {
    const info = await client.conversations.info({ channel });
    return audienceOf(info.channel as Parameters<typeof audienceOf>[0]) === 'everyone';
  } catch (error) {
    if ((error as { data?: { error?: string } }).data?.error === 'missing_scope') {
      throw new LearnRefusedError(
        'Slack will not describe this channel to the app: it lacks the channels:read scope (update the app from commands/slack-manifest.json and reinstall it)',
      );
    }
    return false;
  }
}

async function firstMessage(client: webApi.WebClient, channel: string, ts: string): Promise<RootMessage> {
  const replies = await client.conversations.replies({ channel, ts, limit: 1, include_all_metadata: true });
  return (replies.messages?.[0] ?? {}) as RootMessage;
}

type ReactionArgs = SlackEventMiddlewareArgs<'reaction_added' | 'reaction_removed'> & AllMiddlewareArgs;

export function onResolvedReaction(ctx: SlackContext, knowledge: KnowledgeService, added: boolean) {
  return async ({ event, client, context }: ReactionArgs) => {
    if (event.item.type !== 'message' || !RESOLVED_REACTIONS.has(event.reaction)) return;
    const channel = event.item.channel;
    const { teamId } = authorisedTeam(context);
    const place = { platform: 'slack', channelId: channel, ...(teamId ? { workspaceId: teamId } : {}) };
    if (!(await knowledge.learningIn(place))) return;
    try {
      // The thread the marked message belongs to: asked by a parent's ts, Slack answers with the
      // parent first; by a reply's, with that reply alone, whose thread_ts names the parent.
      const marked = await firstMessage(client, channel, event.item.ts);
      const root =
        marked.thread_ts && marked.thread_ts !== marked.ts
          ? await firstMessage(client, channel, marked.thread_ts)
          : marked;
      const threadTs = root.thread_ts ?? root.ts;
      if (!threadTs || !root.reply_count) return; // a lone message is no resolved thread
      const asked =
        root.metadata?.event_type === QUESTION_EVENT ? root.metadata.event_payload?.asker : undefined;
      const asker = typeof asked === 'string' ? asked : root.user;
      const allowed =
        event.user === asker ||
        (await isSlackAdmin(client, event.user, knowledge.settings.slackAdminUsers, ctx.log));
      if (!allowed) {
        ctx.log.debug(
          { channel, user: event.user },
          'ignored a mark by someone who neither asked nor administers',
        );
        return;
      }
      const tell = (text: string) =>
        client.chat
          .postEphemeral({ channel, user: event.user, thread_ts: threadTs, text })
          .then(() => undefined)
          .catch((error: unknown) => ctx.log.warn({ err: error }, 'could not tell about a learned thread'));
      const mark = `${event.user}/${event.item.ts}/${event.reaction}`;
      if (!added) {
        const { permalink } = await client.chat.getPermalink({ channel, message_ts: threadTs });
        if (permalink && (await knowledge.unlearnThread(permalink, mark))) await tell(strings.kb.unlearned);
        return;
      }
      // Checked when it matters: a channel made private after `/kb learn` teaches nothing more.
      if (!(await isPublicSlackChannel(client, channel).catch(() => false))) {
        ctx.log.info({ channel }, 'not learning from a thread: the channel is not public');
        return;
      }
      const { messages, permalink } = await readSlackThread(client, { channel, threadTs, bot: ctx.bot() });
      const saved = await knowledge.learnThread({
        place,
        permalink,
        messages,
        by: `slack:${event.user}`,
        mark,
      });
      if (saved && saved.messages > 0) await tell(strings.kb.learned(saved.collection));
    } catch (error) {
      ctx.log.error({ err: error, channel }, 'could not learn from a resolved thread');
    }
  };
}
