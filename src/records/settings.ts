/** Closing the loop: how long answer records are kept, and the digest of questions the bot failed. */
import { defineSettings, postsAsBot } from '../settings/area.js';
import { choice, flagOn, int, slackId, snowflake } from '../settings/variables.js';

export interface RecordsSlice {
  /** Answer records (src/records): how long they are kept, and whether question text is. */
  readonly records: { readonly days: number; readonly keepText: boolean };
  /** The digest of questions the bot failed, posted on a schedule. */
  readonly digest: {
    readonly schedule: 'weekly' | 'daily' | 'off';
    readonly slackChannel?: string;
    readonly discordChannel?: string;
  };
}

export const recordsSettings = defineSettings({
  variables: {
    /** Days answer records are kept before the daily sweep deletes them. */
    RECORD_DAYS: int(90, 1, 3_650),
    /** false: records keep a hash of the question instead of its text. */
    RECORD_TEXT: flagOn,
    /** Where the digest of unanswered and voted-down questions is posted. */
    DIGEST_SLACK_CHANNEL: slackId('CG', 'channel'),
    DIGEST_DISCORD_CHANNEL: snowflake('channel'),
    DIGEST_SCHEDULE: choice(['weekly', 'daily', 'off'], 'weekly', 'must be weekly, daily or off'),
  },
  problems: (set) => [
    ...postsAsBot(set, 'DIGEST_SLACK_CHANNEL', 'SLACK_BOT_TOKEN'),
    ...postsAsBot(set, 'DIGEST_DISCORD_CHANNEL', 'DISCORD_TOKEN'),
  ],
  build: (env): RecordsSlice => ({
    records: { days: env.RECORD_DAYS, keepText: env.RECORD_TEXT },
    digest: {
      schedule: env.DIGEST_SCHEDULE,
      ...(env.DIGEST_SLACK_CHANNEL ? { slackChannel: env.DIGEST_SLACK_CHANNEL } : {}),
      ...(env.DIGEST_DISCORD_CHANNEL ? { discordChannel: env.DIGEST_DISCORD_CHANNEL } : {}),
    },
  }),
});
