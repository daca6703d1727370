/**
 * The digest scheduler for a running bot, from configuration: one destination per configured
 * DIGEST_*_CHANNEL, each platform's client loaded only when it has one. None configured, or
 * DIGEST_SCHEDULE=off: no scheduler.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { type DigestDestination, DigestScheduler } from './digest.js';
import type { AnswerRecords } from './store.js';

export async function digestFromConfig(
  config: Config,
  store: AnswerRecords,
  log: Logger,
  sharedClaim?: (key: string, ttlMs: number) => Promise<boolean>,
): Promise<DigestScheduler | undefined> {
  const { digest } = config;
  if (digest.schedule === 'off') return undefined;
  const destinations: DigestDestination[] = [];
  if (digest.slackChannel && config.slack?.oauth) {
    // Installed in many workspaces, the bot has no one workspace to post a digest in.
    log.warn('DIGEST_SLACK_CHANNEL needs SLACK_BOT_TOKEN (one workspace); no Slack digest is posted');
  } else if (digest.slackChannel && config.slack?.botToken) {
    const { slackDigestDestination } = await import('./digest-slack.js');
    destinations.push(
      slackDigestDestination({
        token: config.slack.botToken,
        channel: digest.slackChannel,
        pseudonym: store.pseudonym,
        ...(config.slack.apiURL ? { apiURL: config.slack.apiURL } : {}),
      }),
    );
  }
  if (digest.discordChannel && config.discord) {
    const { discordDigestDestination } = await import('./digest-discord.js');
    destinations.push(
      discordDigestDestination({
        token: config.discord.token,
        channel: digest.discordChannel,
        pseudonym: store.pseudonym,
        ...(config.discord.apiURL ? { apiURL: config.discord.apiURL } : {}),
      }),
    );
  }
  if (destinations.length === 0) return undefined;
  return new DigestScheduler({
    store,
    destinations,
    schedule: digest.schedule,
    log: log.child({ job: 'digest' }),
    ...(sharedClaim ? { sharedClaim } : {}),
  });
}
