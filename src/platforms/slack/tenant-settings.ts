/**
 * A Slack workspace's `/kb settings`: the user group "Ask a human" mentions and the channel its
 * digest goes to, checked against Slack when an admin sets them (usergroups.list needs
 * usergroups:read; conversations.info tells whether the bot is in the channel), and the group
 * that applies to a question: the workspace's own, else ESCALATION_SLACK_GROUP (one workspace).
 */
import type { webApi } from '@slack/bolt';
import type { KbSettingsAccess } from '../../knowledge/commands.js';
import { slackPlainText } from '../../render/slack-text.js';
import type { ChosenTarget, SettingName } from '../../tenants/settings-store.js';
import type { SlackContext } from './context.js';

const errorCode = (error: unknown) =>
  (error as { data?: { error?: string } }).data?.error ?? (error as Error).message;

/** The user group "Ask a human" mentions in `teamId`'s workspace, if any. */
export async function slackHandoff(
  ctx: SlackContext,
  teamId: string | undefined,
): Promise<string | undefined> {
  if (teamId && ctx.tenants) {
    try {
      const chosen = (await ctx.tenants.get('slack', teamId)).handoff;
      if (chosen) return chosen.id;
    } catch (error) {
      ctx.log.warn({ err: error }, "could not read the workspace's settings; using the configured group");
    }
  }
  // The variable needs SLACK_BOT_TOKEN (one workspace): it never applies to another workspace.
  return ctx.config.oauth ? undefined : ctx.config.escalationGroup;
}

interface UserGroup {
  id?: string;
  handle?: string;
  name?: string;
  date_delete?: number;
}

/** A user group as Slack sends it in escaped text (`!subteam^S0123`), its id, or its handle. */
function groupRef(raw: string): { id?: string; handle?: string } {
  const escaped = /^!subteam\^([A-Z0-9]+)$/.exec(raw);
  if (escaped) return { id: escaped[1]! };
  if (/^S[A-Z0-9]{2,}$/.test(raw)) return { id: raw };
  return { handle: raw.replace(/^@/, '').toLowerCase() };
}

async function checkGroup(
  client: webApi.WebClient,
  raw: string,
): Promise<ChosenTarget | { problem: string }> {
  let groups: UserGroup[];
  try {
    groups = ((await client.usergroups.list({ include_disabled: false })).usergroups ?? []) as UserGroup[];
  } catch (error) {
    const code = errorCode(error);
    if (code === 'missing_scope')
      return {
        problem:
          "I can't see this workspace's user groups: the app needs the usergroups:read scope. Add it under OAuth & Permissions (or install the app again with the current manifest), then try again",
      };
    if (code === 'paid_teams_only' || code === 'plan_upgrade_required')
      return { problem: 'user groups need a paid Slack plan, so "Ask a human" cannot mention one here' };
    return { problem: `Slack would not list the user groups (${code})` };
  }
  const ref = groupRef(raw);
  const found = groups.find(
    (group) =>
      !group.date_delete &&
      (ref.id ? group.id === ref.id : (group.handle ?? '').toLowerCase() === ref.handle),
  );
  if (!found?.id) {
    const known = groups
      .filter((group) => !group.date_delete && group.handle)
      .slice(0, 10)
      .map((group) => `@${group.handle}`);
    return {
      problem: `there is no user group ${ref.id ?? `@${ref.handle}`} in this workspace${
        known.length > 0
          ? ` (its groups: ${known.join(', ')})`
          : ' (it has none: create one under People → User groups)'
      }`,
    };
  }
  return { id: found.id, label: `@${found.handle ?? found.name ?? found.id}` };
}

interface ChannelInfo {
  id?: string;
  name?: string;
  is_im?: boolean;
  is_mpim?: boolean;
  is_archived?: boolean;
  is_member?: boolean;
  is_shared?: boolean;
  is_ext_shared?: boolean;
}

async function checkChannel(
  client: webApi.WebClient,
  raw: string,
  botUserId: string,
): Promise<ChosenTarget | { problem: string }> {
  // `<#C0123|name>` arrives as `#C0123` (parseKbText keeps what is inside the brackets).
  const id = /^#?([CG][A-Z0-9]{2,})$/.exec(raw)?.[1];
  if (!id)
    return {
      problem: `name the channel as Slack offers it when you type # (it then arrives as a link), or by its ID (channel details → About → Channel ID); "${raw.slice(0, 80)}" is neither`,
    };
  let channel: ChannelInfo;
  try {
    channel = ((await client.conversations.info({ channel: id })).channel ?? {}) as ChannelInfo;
  } catch (error) {
    const code = errorCode(error);
    if (code === 'channel_not_found')
      return {
        problem: `I can't see <#${id}>: a private channel is visible to me only once I'm in it. Invite me with \`/invite <@${botUserId}>\` there, then set it again`,
      };
    if (code === 'missing_scope')
      return {
        problem:
          'the app needs the channels:read scope to check the channel; install it again with the current manifest',
      };
    return { problem: `Slack would not describe that channel (${code})` };
  }
  if (channel.is_im || channel.is_mpim)
    return { problem: 'the digest goes to a channel, not a direct message' };
  if (channel.is_archived) return { problem: `<#${id}> is archived` };
  // The digest shows this workspace's questions: never to another organisation.
  if (channel.is_ext_shared || channel.is_shared)
    return {
      problem: `<#${id}> is shared with another organisation, and the digest shows this workspace's questions; pick a channel of this workspace only`,
    };
  if (!channel.is_member)
    return {
      problem: `I'm not in <#${id}>, so I could not post the digest there. Invite me with \`/invite <@${botUserId}>\` in that channel, then set it again`,
    };
  return { id, label: `#${channel.name ?? id}` };
}

/** `/kb settings` in a Slack workspace, checked with that workspace's client. */
export function slackSettingsAccess(
  ctx: SlackContext,
  client: webApi.WebClient,
): KbSettingsAccess | undefined {
  if (!ctx.tenants) return undefined;
  const group = ctx.config.oauth ? undefined : ctx.config.escalationGroup;
  return {
    store: ctx.tenants,
    fallback: {
      ...(group ? { handoff: { id: group, label: group, variable: 'ESCALATION_SLACK_GROUP' } } : {}),
      ...(ctx.digestChannel
        ? { digest: { id: ctx.digestChannel, label: ctx.digestChannel, variable: 'DIGEST_SLACK_CHANNEL' } }
        : {}),
    },
    check: (setting: SettingName, raw: string) =>
      setting === 'handoff' ? checkGroup(client, raw) : checkChannel(client, raw, ctx.bot().userId),
    // A group's handle in plain text (a mention would notify it); a channel as a link, which pings nobody.
    describe: (setting, target) =>
      setting === 'handoff'
        ? target.label.startsWith('@')
          ? slackPlainText(target.label)
          : `the group ${target.id}`
        : `<#${target.id}>`,
  };
}
