/**
 * A workspace removed the app (`app_uninstalled`) or revoked its tokens (`tokens_revoked`):
 * its installation is deleted, so no token outlives the workspace's consent and later events
 * from it are refused (and logged once) instead of failing against Slack. Bolt delivers both
 * events without authorizing them, since the tokens are already dead.
 */
import type { AllMiddlewareArgs, Context, InstallationQuery, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { SlackContext } from '../context.js';
import type { SlackInstallations } from '../installations.js';

function queryFor(context: Context): InstallationQuery<boolean> | undefined {
  if (context.isEnterpriseInstall && context.enterpriseId) {
    return { isEnterpriseInstall: true, enterpriseId: context.enterpriseId, teamId: undefined };
  }
  if (!context.teamId) return undefined;
  return { isEnterpriseInstall: false, teamId: context.teamId, enterpriseId: context.enterpriseId };
}

const workspaceOf = (query: InstallationQuery<boolean>) =>
  query.isEnterpriseInstall ? { enterpriseId: query.enterpriseId } : { teamId: query.teamId };

export function onAppUninstalled(ctx: SlackContext, installations: SlackInstallations) {
  return async ({ context }: SlackEventMiddlewareArgs<'app_uninstalled'> & AllMiddlewareArgs) => {
    const query = queryFor(context);
    if (!query) {
      ctx.log.warn('app_uninstalled without a workspace id: nothing deleted');
      return;
    }
    await installations.deleteInstallation(query);
    ctx.log.info(workspaceOf(query), 'the app was uninstalled: installation and its tokens deleted');
  };
}

export function onTokensRevoked(ctx: SlackContext, installations: SlackInstallations) {
  return async ({ context, event }: SlackEventMiddlewareArgs<'tokens_revoked'> & AllMiddlewareArgs) => {
    const query = queryFor(context);
    if (!query) {
      ctx.log.warn('tokens_revoked without a workspace id: nothing deleted');
      return;
    }
    const bots = event.tokens.bot ?? [];
    const users = event.tokens.oauth ?? [];
    if (bots.length > 0) {
      // Without its bot token the installation can answer nothing: it goes entirely.
      await installations.deleteInstallation(query);
      ctx.log.info(workspaceOf(query), 'the bot token was revoked: installation deleted');
      return;
    }
    if (users.length > 0) {
      await installations.forgetUserTokens(query, users);
      ctx.log.info({ ...workspaceOf(query), users: users.length }, 'user tokens revoked: forgotten');
    }
  };
}
