/**
 * "Save as knowledge" on a digest item: the same save as the message shortcut (the thread,
 * cited by its permalink, into its channel's collection, admins only unless
 * SAVE_TO_KB=everyone), started from the digest; the result is told privately.
 */
import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { strings } from '../../../conversation/strings.js';
import { type KnowledgeService, savedMessage, saveFailureMessage } from '../../../knowledge/service.js';
import { parseSaveValue } from '../../../records/digest-slack.js';
import type { SlackContext } from '../context.js';
import { authorisedTeam } from '../tenant.js';
import { isSlackAdmin } from './kb-admin.js';
import { saveSlackThread } from './save-thread.js';

export function onSaveThreadButton(ctx: SlackContext, knowledge: KnowledgeService) {
  return async ({
    ack,
    action,
    body,
    client,
    context,
  }: SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs) => {
    await ack();
    const userId = body.user.id;
    const here = body.channel?.id;
    const target = parseSaveValue('value' in action ? action.value : undefined);
    const outcome = async (): Promise<string> => {
      if (!target) return strings.save.failed;
      const allowed =
        knowledge.settings.saveToKb === 'everyone' ||
        (await isSlackAdmin(client, userId, knowledge.settings.slackAdminUsers, ctx.log));
      if (!allowed) return strings.save.notAllowed;
      try {
        const saved = await saveSlackThread(knowledge, client, {
          channel: target.channel,
          threadTs: target.thread,
          ...authorisedTeam(context),
          savedBy: `slack:${userId}`,
          bot: ctx.bot(),
        });
        return savedMessage(saved);
      } catch (error) {
        ctx.log.error({ err: error, channel: target.channel }, 'could not save a thread from the digest');
        return saveFailureMessage(error);
      }
    };
    const text = await outcome();
    if (!here) return;
    await client.chat.postEphemeral({ channel: here, user: userId, text }).catch(() => undefined);
  };
}
