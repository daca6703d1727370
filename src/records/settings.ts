/** Closing the loop: how long answer records are kept, and the digest of questions the bot failed. */
import { defineSettings, postsAsBot } from '../settings/area.js';
import { atLeastChars, choice, flagOn, int, slackId, snowflake } from '../settings/variables.js';

export interface RecordsSlice {
  /** Answer records (src/records): how long they are kept, and whether question text is. */
  readonly records: {
    readonly days: number;
    readonly keepText: boolean;
    /** RECORD_PSEUDONYM_SECRET: the pseudonyms' key; unset, RAG_DATA_DIR/pseudonym.key. */
    readonly pseudonymSecret?: string;
  };
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
    /** Keys the pseudonyms in answer records; unset: a key generated once in RAG_DATA_DIR. */
    RECORD_PSEUDONYM_SECRET: atLeastChars(
      32,
      'must be at least 32 random characters (e.g. openssl rand -base64 32)',
    ),
    /** Where the digest of unanswered and voted-down questions is posted. */
    DIGEST_SLACK_CHANNEL: slackId('CG', 'channel'),
    DIGEST_DISCORD_CHANNEL: snowflake('channel'),
    DIGEST_SCHEDULE: choice(['weekly', 'daily', 'off'], 'weekly', 'must be weekly, daily or off'),
  },
  secrets: ['RECORD_PSEUDONYM_SECRET'],
  problems: (set) => [
    ...postsAsBot(set, 'DIGEST_SLACK_CHANNEL', 'SLACK_BOT_TOKEN'),
    ...postsAsBot(set, 'DIGEST_DISCORD_CHANNEL', 'DISCORD_TOKEN'),
  ],
  build: (env): RecordsSlice => ({
    records: {
      days: env.RECORD_DAYS,
      keepText: env.RECORD_TEXT,
      ...(env.RECORD_PSEUDONYM_SECRET ? { pseudonymSecret: env.RECORD_PSEUDONYM_SECRET } : {}),
    },
    digest: {
      schedule: env.DIGEST_SCHEDULE,
      ...(env.DIGEST_SLACK_CHANNEL ? { slackChannel: env.DIGEST_SLACK_CHANNEL } : {}),
      ...(env.DIGEST_DISCORD_CHANNEL ? { discordChannel: env.DIGEST_DISCORD_CHANNEL } : {}),
    },
  }),
});
