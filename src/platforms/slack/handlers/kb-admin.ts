/**
 * Who may manage the knowledge from Slack: users listed in SLACK_ADMIN_USERS, and the
 * workspace's admins and owners (users.info, which needs the `users:read` scope). A failed
 * lookup counts as "not an admin": refusing is the safe side.
 */
import type { webApi } from '@slack/bolt';
import type { Logger } from '../../../log.js';

export async function isSlackAdmin(
  client: webApi.WebClient,
  userId: string,
  adminUsers: readonly string[],
  log: Logger,
): Promise<boolean> {
  if (adminUsers.includes(userId)) return true;
  try {
    const { user } = await client.users.info({ user: userId });
    return Boolean(user?.is_admin || user?.is_owner || user?.is_primary_owner);
  } catch (error) {
    log.warn(
      { user: userId, code: (error as { data?: { error?: string } }).data?.error },
      'could not check a Slack user',
    );
    return false;
  }
}
