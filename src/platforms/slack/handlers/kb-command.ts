/**
 * `/kb <subcommand>` in Slack: acknowledged at once, then run through the shared `/kb` runner
 * (src/knowledge/commands.ts) and answered privately (ephemeral) through the command's
 * response URL, including the summary of a sync it started.
 */
import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { strings } from '../../../conversation/strings.js';
import { parseKbText, runKbCommand } from '../../../knowledge/commands.js';
import type { KnowledgeService } from '../../../knowledge/service.js';
import { slackPlainText } from '../../../render/slack-text.js';
import type { SlackContext } from '../context.js';
import { slackSettingsAccess } from '../tenant-settings.js';
import { isSlackAdmin } from './kb-admin.js';
import { isPublicSlackChannel } from './learn.js';

const withSettings = <T>(settings: T | undefined) => (settings ? { settings } : {});

export function onKbCommand(ctx: SlackContext, knowledge: KnowledgeService) {
  return async ({
    command,
    ack,
    client,
    respond,
    context,
  }: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => {
    await ack();
    const tell = async (text: string) => {
      try {
        await respond({ response_type: 'ephemeral', text });
      } catch {
        // The response URL expires after 30 minutes: a long sync reports straight to the user.
        await client.chat
          .postEphemeral({ channel: command.channel_id, user: command.user_id, text })
          .catch((error: unknown) => ctx.log.warn({ err: error }, 'could not report a /kb result'));
      }
    };
    const result = await runKbCommand(knowledge, {
      command: parseKbText(command.text),
      place: {
        platform: 'slack',
        channelId: command.channel_id,
        ...(context.teamId ? { workspaceId: context.teamId } : {}),
        direct: command.channel_id.startsWith('D'),
      },
      actor: `slack:${command.user_id}`,
      isAdmin: () => isSlackAdmin(client, command.user_id, knowledge.settings.slackAdminUsers, ctx.log),
      quote: slackPlainText,
      later: tell,
      channelIsPublic: () => isPublicSlackChannel(client, command.channel_id),
      ...withSettings(slackSettingsAccess(ctx, client)),
    }).catch((error: unknown) => {
      ctx.log.error({ err: error }, '/kb failed');
      return { reply: strings.kb.failed };
    });
    await tell(result.reply);
  };
}
