/**
 * The workspace a Slack request acts for: the team Bolt authorised it with (`context.teamId`,
 * the installation's team or the bot token's), never a team id the payload carries. In a
 * channel shared with another organisation (Slack Connect) an event's `team_id` or a shortcut's
 * `team.id` can name that other organisation, whose tenant the request is not.
 *
 * An org-wide (Enterprise Grid) installation has no team of its own: Bolt then takes the team
 * from the payload, which the request could name at will. Such a request acts for no workspace
 * (it reads only the shared `default` and writes nothing from the chat); the shipped manifest
 * does not allow org-wide installs (`org_deploy_enabled: false`).
 */
import type { Context } from '@slack/bolt';

/**
 * `{ orgInstall }`: the organisation whose org-wide installation authorised the request (empty
 * for a workspace's own), so another instance finishing its answer looks that installation up
 * as Bolt's authorize did, by organisation. Names the token's owner, never a tenant.
 */
export function authorisedInstallation(context: Context): { orgInstall?: string } {
  return context.isEnterpriseInstall && context.enterpriseId ? { orgInstall: context.enterpriseId } : {};
}

/** `{ teamId }` of the authorised workspace, to spread into a target (empty when Bolt has none). */
export function authorisedTeam(context: Context): { teamId?: string } {
  if (context.isEnterpriseInstall) return {};
  return context.teamId ? { teamId: context.teamId } : {};
}
