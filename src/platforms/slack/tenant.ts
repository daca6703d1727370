/**
 * The workspace a Slack request acts for: the team Bolt authorised it with (`context.teamId`,
 * the installation's team or the bot token's), never a team id the payload carries. In a
 * channel shared with another organisation (Slack Connect) an event's `team_id` or a shortcut's
 * `team.id` can name that other organisation, whose tenant the request is not.
 */
import type { Context } from '@slack/bolt';

/** `{ teamId }` of the authorised workspace, to spread into a target (empty when Bolt has none). */
export function authorisedTeam(context: Context): { teamId?: string } {
  return context.teamId ? { teamId: context.teamId } : {};
}
