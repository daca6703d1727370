/** Operating the bot: logging, Redis for shared state, rate limits, concurrency, shutdown. */
import { defineSettings } from '../settings/area.js';
import { exactly, int, optionalUrl } from '../settings/variables.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const LOG_FORMATS = ['json', 'pretty'] as const;

export interface OpsSlice {
  readonly log: {
    readonly level: (typeof LOG_LEVELS)[number];
    readonly format: (typeof LOG_FORMATS)[number];
  };
  readonly limits: {
    readonly redisURL?: string;
    readonly userPerMinute: number;
    readonly channelPerMinute: number;
    readonly maxConcurrentAnswers: number;
    readonly maxQueuedAnswers: number;
    readonly shutdownGraceMs: number;
    /** "Ask a human" pings per person and per channel per hour; 0: no limit. */
    readonly escalationUserPerHour: number;
    readonly escalationChannelPerHour: number;
  };
}

export const opsSettings = defineSettings({
  variables: {
    LOG_LEVEL: exactly(LOG_LEVELS, 'info'),
    LOG_FORMAT: exactly(LOG_FORMATS, 'json'),
    REDIS_URL: optionalUrl('redis://host:6379'),
    RATE_LIMIT_USER_PER_MINUTE: int(10, 0, 10_000),
    RATE_LIMIT_CHANNEL_PER_MINUTE: int(60, 0, 100_000),
    MAX_CONCURRENT_ANSWERS: int(8, 1, 1_000),
    MAX_QUEUED_ANSWERS: int(32, 0, 100_000),
    SHUTDOWN_GRACE_MS: int(20_000, 0, 600_000),
    /** "Ask a human" clicks that may ping the group, per person and per channel, per hour (0: no limit). */
    ESCALATION_USER_PER_HOUR: int(3, 0, 1_000),
    ESCALATION_CHANNEL_PER_HOUR: int(10, 0, 10_000),
  },
  secrets: ['REDIS_URL'],
  build: (env): OpsSlice => ({
    log: { level: env.LOG_LEVEL, format: env.LOG_FORMAT },
    limits: {
      ...(env.REDIS_URL ? { redisURL: env.REDIS_URL } : {}),
      userPerMinute: env.RATE_LIMIT_USER_PER_MINUTE,
      channelPerMinute: env.RATE_LIMIT_CHANNEL_PER_MINUTE,
      maxConcurrentAnswers: env.MAX_CONCURRENT_ANSWERS,
      maxQueuedAnswers: env.MAX_QUEUED_ANSWERS,
      shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
      escalationUserPerHour: env.ESCALATION_USER_PER_HOUR,
      escalationChannelPerHour: env.ESCALATION_CHANNEL_PER_HOUR,
    },
  }),
});
