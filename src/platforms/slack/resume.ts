/**
 * Finishing on this instance a Slack answer another instance began and could not finish (it
 * died mid-answer): the conversation is built again from the recorded ids, with the client of
 * its workspace (in OAuth mode the token comes from the installation store, never from the
 * record), and the reply replaces the half-written message.
 */
import type { InstallationQuery, webApi } from '@slack/bolt';
import { WebClient, type WebClientOptions } from '@slack/web-api';
import * as v from 'valibot';
import type { Resumer, ResumeTarget } from '../../conversation/layer.js';
import type { Turn } from '../../core/types.js';
import { questionConversation, type SlackContext } from './context.js';
import type { SlackFile } from './files.js';
import { uniqueFiles } from './files.js';
import { type BotIdentity, directMessageHistory, threadContext } from './history.js';
import { NoInstallationError, type SlackInstallations } from './installations.js';

/** Which installation an answer was given through: a workspace's, or an organisation's (org-wide). */
export interface InstallationScope {
  readonly teamId?: string;
  /** The Enterprise Grid organisation of an org-wide installation. */
  readonly orgInstall?: string;
}

/** A workspace's client and the bot's identity there; undefined when it has no installation any more. */
export type SlackClientFor = (
  scope: InstallationScope,
) => Promise<{ readonly client: webApi.WebClient; readonly bot: BotIdentity } | undefined>;

/**
 * The client of the installation an answer was given through (installed in any workspace),
 * looked up as Bolt's authorize does for an event: an org-wide installation by its organisation,
 * any other by its workspace. Undefined when it is gone (uninstalled meanwhile).
 */
export function installedClients(
  installations: SlackInstallations,
  options: WebClientOptions,
): SlackClientFor {
  return async ({ teamId, orgInstall }) => {
    const query: InstallationQuery<boolean> | undefined = orgInstall
      ? { isEnterpriseInstall: true, enterpriseId: orgInstall, teamId }
      : teamId
        ? { isEnterpriseInstall: false, enterpriseId: undefined, teamId }
        : undefined;
    if (!query) return undefined;
    try {
      const installation = await installations.fetchInstallation(query);
      if (!installation.bot?.token) return undefined;
      return {
        client: new WebClient(installation.bot.token, options),
        bot: { userId: installation.bot.userId, botId: installation.bot.id },
      };
    } catch (error) {
      if (error instanceof NoInstallationError) return undefined;
      throw error;
    }
  };
}

const slackPlace = v.object({
  channel: v.string(),
  userId: v.string(),
  history: v.picklist(['thread', 'dm', 'none']),
  threadTs: v.optional(v.string()),
  teamId: v.optional(v.string()),
  questionTs: v.optional(v.string()),
  assistantThread: v.optional(v.boolean()),
  enterpriseId: v.optional(v.string()),
  enterpriseInstall: v.optional(v.boolean()),
});

const slackReply = v.object({ ts: v.string(), streaming: v.boolean() });

export function slackResumer(ctx: SlackContext, clientFor: SlackClientFor): Resumer {
  return async (target: ResumeTarget) => {
    const place = v.parse(slackPlace, target.place);
    const reply = target.reply ? v.parse(slackReply, target.reply) : undefined;
    const orgInstall = place.enterpriseInstall && place.enterpriseId ? place.enterpriseId : undefined;
    const found = await clientFor({
      ...(place.teamId ? { teamId: place.teamId } : {}),
      ...(orgInstall ? { orgInstall } : {}),
    });
    if (!found) {
      ctx.log.warn(
        { workspace: place.teamId, organisation: orgInstall },
        'no installation any more for an answer to finish',
      );
      return undefined;
    }
    const { client, bot } = found;
    // The thread is read once for its history and its files, as when the question came.
    let thread: Promise<{ history: Turn[]; files: SlackFile[] }> | undefined;
    const readThread = () => {
      thread ??= threadContext(client, place.channel, place.threadTs!, place.questionTs ?? '', bot).then(
        (context) => ({
          history: context.history,
          files: uniqueFiles(context.questionFiles, context.files),
        }),
      );
      return thread;
    };
    const fromThread = place.history === 'thread' && place.threadTs !== undefined;
    const history = async (): Promise<Turn[]> => {
      if (fromThread) return (await readThread()).history;
      if (place.history === 'dm')
        return directMessageHistory(client, place.channel, place.questionTs ?? '', bot);
      return [];
    };
    return await questionConversation(ctx, client, {
      target: {
        channel: place.channel,
        userId: place.userId,
        ...(place.threadTs ? { threadTs: place.threadTs } : {}),
        ...(place.teamId ? { teamId: place.teamId } : {}),
        ...(orgInstall ? { orgInstall } : {}),
      },
      history,
      ...(fromThread ? { files: async () => (await readThread()).files } : {}),
      handover: { history: place.history, ...(place.questionTs ? { questionTs: place.questionTs } : {}) },
      ...(place.assistantThread ? { assistantThread: true } : {}),
      ...(reply ? { resume: reply } : {}),
    });
  };
}
