/**
 * The digest scheduler for a running bot, from configuration and each workspace's settings:
 * every channel a workspace or server chose with `/kb settings digest`, plus DIGEST_SLACK_CHANNEL
 * (one workspace) and DIGEST_DISCORD_CHANNEL for their own workspace or server where it chose
 * none. Looked up at each check, so a channel set from the chat is used from the next digest on.
 * Each platform's client is loaded only when it has a channel. DIGEST_SCHEDULE=off, or no chat
 * platform: no scheduler.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { TenantSettingsStore } from '../tenants/settings-store.js';
import { type DigestDestination, DigestScheduler } from './digest.js';
import type { AnswerRecords } from './store.js';

export interface DigestSetup {
  /** A claim shared across hosts when the records are per host (REDIS_URL without DATABASE_URL). */
  readonly sharedClaim?: (key: string, ttlMs: number) => Promise<boolean>;
  /** Each workspace's `/kb settings`. */
  readonly tenants?: TenantSettingsStore;
  /** The bot token of a Slack workspace that installed the app (OAuth mode), from its installation. */
  readonly slackToken?: (teamId: string) => Promise<string | undefined>;
  /** The scheduler's clock (tests). */
  readonly now?: () => number;
}

export async function digestFromConfig(
  config: Config,
  store: AnswerRecords,
  log: Logger,
  setup: DigestSetup = {},
): Promise<DigestScheduler | undefined> {
  const { digest, slack, discord } = config;
  if (digest.schedule === 'off' || (!slack && !discord)) return undefined;
  const { tenants } = setup;
  if (!tenants && !digest.slackChannel && !digest.discordChannel) return undefined;
  const slackDigest = slack ? (await import('./digest-slack.js')).slackDigestDestination : undefined;
  const discordDigest = discord ? (await import('./digest-discord.js')).discordDigestDestination : undefined;
  const pseudonym = store.pseudonym;
  const slackAt = (token: string, channel: string) =>
    slackDigest!({ token, channel, pseudonym, ...(slack?.apiURL ? { apiURL: slack.apiURL } : {}) });
  const discordAt = (channel: string) =>
    discordDigest!({
      token: discord!.token,
      channel,
      pseudonym,
      ...(discord?.apiURL ? { apiURL: discord.apiURL } : {}),
    });

  /** A configured channel, unless its own workspace chose another one (`chosen`). */
  const unlessChosen = async (destination: DigestDestination, chosen: ReadonlySet<string>) => {
    const workspace = await destination.workspace?.().catch(() => undefined);
    return workspace && chosen.has(workspace) ? [] : [destination];
  };

  const destinations = async (): Promise<DigestDestination[]> => {
    const out: DigestDestination[] = [];
    if (slack) {
      const chosen = tenants ? await tenants.all('slack') : new Map();
      const withDigest = new Set<string>();
      for (const [teamId, settings] of chosen) {
        if (!settings.digest) continue;
        const token = slack.botToken ?? (await setup.slackToken?.(teamId).catch(() => undefined));
        if (!token) {
          log.warn({ workspace: teamId }, 'no installation for a workspace that chose a digest channel');
          continue;
        }
        withDigest.add(teamId);
        out.push(slackAt(token, settings.digest.id));
      }
      if (digest.slackChannel && slack.botToken)
        out.push(...(await unlessChosen(slackAt(slack.botToken, digest.slackChannel), withDigest)));
    }
    if (discord) {
      const chosen = tenants ? await tenants.all('discord') : new Map();
      const withDigest = new Set<string>();
      for (const [guildId, settings] of chosen) {
        if (!settings.digest) continue;
        withDigest.add(guildId);
        out.push(discordAt(settings.digest.id));
      }
      if (digest.discordChannel)
        out.push(...(await unlessChosen(discordAt(digest.discordChannel), withDigest)));
    }
    // One post per channel, however many workspaces name it.
    return [...new Map(out.map((destination) => [destination.name, destination])).values()];
  };
  return new DigestScheduler({
    store,
    destinations,
    schedule: digest.schedule,
    log: log.child({ job: 'digest' }),
    ...(setup.sharedClaim ? { sharedClaim: setup.sharedClaim } : {}),
    ...(setup.now ? { now: setup.now } : {}),
  });
}
