/**
 * The App Home tab: what the bot knows (passages, sources, collections) and how to ask it,
 * published for the user who opened it. A knowledge base that cannot be read still gets a
 * Home tab, saying so, rather than a blank page.
 */
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs, types } from '@slack/bolt';
import type { KnowledgeOverview, KnowledgeOverviewReader } from '../../../conversation/knowledge-overview.js';
import { strings } from '../../../conversation/strings.js';
import { settingsSummary } from '../../../knowledge/commands.js';
import { slackPlainText } from '../../../render/slack-text.js';
import type { SlackContext } from '../context.js';
import { authorisedTeam } from '../tenant.js';
import { slackSettingsAccess } from '../tenant-settings.js';

/** Sources listed by name; the rest are counted. Slack allows 100 blocks and 3,000 characters per section. */
const LISTED_SOURCES = 15;
const LISTED_COLLECTIONS = 8;

const section = (text: string): types.KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });
const header = (text: string): types.KnownBlock => ({
  type: 'header',
  text: { type: 'plain_text', text, emoji: true },
});

const oneLine = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return slackPlainText(flat.length > max ? `${flat.slice(0, max - 1)}…` : flat);
};

/** `unavailable` when the store could not be read; `undefined` when this deployment shows no overview. */
type Shown = KnowledgeOverview | 'unavailable' | undefined;

export function knowledgeBlocks(overview: Shown): types.KnownBlock[] {
  if (overview === undefined) return [];
  if (overview === 'unavailable') return [section(strings.homeUnavailable)];
  if (overview.passages === 0) return [section(strings.homeEmpty)];
  const blocks = [section(strings.homeKnows(overview.passages, overview.sources.length))];
  if (overview.collections.length > 0) {
    // A section holds 3,000 characters: a few collections, then how many more.
    const lines = overview.collections
      .slice(0, LISTED_COLLECTIONS)
      .map((c) => `• *${oneLine(c.name, 80)}*${c.description ? ` — ${oneLine(c.description, 200)}` : ''}`);
    const more = overview.collections.length - lines.length;
    if (more > 0) lines.push(`_${strings.homeMoreSources(more)}_`);
    blocks.push(section(lines.join('\n')));
  }
  const listed = overview.sources.slice(0, LISTED_SOURCES).map((s) => `• ${oneLine(s.name, 150)}`);
  const more = overview.sources.length - listed.length;
  if (more > 0) listed.push(`_${strings.homeMoreSources(more)}_`);
  if (listed.length > 0) blocks.push(section(listed.join('\n')));
  return blocks;
}

/** `settings`: this workspace's hand-off group and digest channel, one line each (absent: not shown). */
export function homeView(overview: Shown, settings?: readonly string[]): types.HomeView {
  const knows = knowledgeBlocks(overview);
  return {
    type: 'home',
    blocks: [
      header(strings.homeTitle),
      { type: 'divider' },
      ...(knows.length > 0
        ? [header(strings.homeSourcesHeading), ...knows, { type: 'divider' } as const]
        : []),
      header(strings.homeHowHeading),
      section(strings.homeHow),
      ...(settings && settings.length > 0
        ? [
            { type: 'divider' } as const,
            header(strings.homeSettingsHeading),
            section(settings.map((line) => `• ${line}`).join('\n')),
          ]
        : []),
    ],
  };
}

export function onAppHomeOpened(ctx: SlackContext, knowledge: KnowledgeOverviewReader | undefined) {
  return async ({
    event,
    client,
    context,
  }: SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs) => {
    if (event.tab !== 'home') return;
    let overview: Shown;
    const { teamId } = authorisedTeam(context);
    try {
      // What this workspace can read: its routed collections, never another workspace's.
      overview = knowledge
        ? await knowledge({
            platform: 'slack',
            channelId: event.channel,
            ...(teamId ? { workspaceId: teamId } : {}),
          })
        : undefined;
    } catch (error) {
      overview = 'unavailable';
      ctx.log.warn({ err: error }, 'could not read the knowledge base for the Home tab');
    }
    // Who "Ask a human" mentions here and where the digest goes (/kb settings).
    const access = slackSettingsAccess(ctx, client);
    const settings =
      access && teamId
        ? await settingsSummary(access, 'slack', teamId).catch((error: unknown) => {
            ctx.log.warn({ err: error }, "could not read the workspace's settings for the Home tab");
            return undefined;
          })
        : undefined;
    await client.views.publish({ user_id: event.user, view: homeView(overview, settings) });
  };
}
