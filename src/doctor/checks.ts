/**
 * `npm run doctor`: checks each configured service for real, each within a time limit, and
 * says how to fix what fails. Nothing here changes anything.
 */
import { WebClient } from '@slack/web-api';
import { REST, Routes } from 'discord.js';
import slackManifest from '../../commands/slack-manifest.json' with { type: 'json' };
import type { Config, SlackOAuthConfig } from '../config.js';
import { checkGroq } from '../generators/groq.js';
import { connectionProblem, connectRedis } from '../ops/redis-state.js';
import { LocalStore } from '../stores/local/index.js';
import { checkUpstash } from '../stores/upstash.js';

export type CheckStatus = 'ok' | 'fail' | 'skip';

export interface CheckResult {
  readonly service: string;
  readonly status: CheckStatus;
  readonly detail: string;
  readonly fix?: string;
}

/** Discord application flags saying the Message Content intent is enabled (full or, under 100 servers, limited). */
const MESSAGE_CONTENT_FLAGS = (1 << 18) | (1 << 19);

async function withTimeout(
  service: string,
  ms: number,
  check: () => Promise<CheckResult>,
): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          service,
          status: 'fail',
          detail: `no answer within ${ms / 1000} s`,
          fix: 'check the network and the service URL',
        }),
      ms,
    );
  });
  try {
    return await Promise.race([
      check().catch((error: unknown) => ({
        service,
        status: 'fail' as const,
        detail: (error as Error).message,
      })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function groq(config: Config, timeoutMs: number): Promise<CheckResult> {
  if (!config.groq.apiKey) {
    return { service: 'Groq', status: 'skip', detail: 'GROQ_API_KEY not set: answers are offline extracts' };
  }
  const result = await checkGroq({
    apiKey: config.groq.apiKey,
    model: config.groq.model,
    ...(config.groq.baseURL ? { baseURL: config.groq.baseURL } : {}),
    timeoutMs,
  });
  return {
    service: 'Groq',
    status: result.ok ? 'ok' : 'fail',
    detail: result.detail,
    ...(result.fix ? { fix: result.fix } : {}),
  };
}

async function store(config: Config): Promise<CheckResult> {
  if (config.upstash) {
    const result = await checkUpstash({ ...config.upstash, timeoutMs: 5_000 });
    return {
      service: 'Upstash Vector',
      status: result.ok ? 'ok' : 'fail',
      detail: result.detail,
      ...(result.fix ? { fix: result.fix } : {}),
    };
  }
  if (config.database) return postgres(config.database.url);
  const local = await LocalStore.open({ dir: config.rag.dataDir });
  const { vectorCount } = await local.stats();
  return {
    service: 'Local store',
    status: 'ok',
    detail:
      vectorCount > 0
        ? `${vectorCount} passages in ${config.rag.dataDir}`
        : `empty: ${config.rag.knowledgeDir}/ is indexed on first use (or run npm run ingest)`,
  };
}

/**
 * DATABASE_URL: reachable with its credentials, and what the bot keeps there so far. Looks only:
 * the tables are created by the first instance that starts.
 */
async function postgres(url: string): Promise<CheckResult> {
  const { connectPostgres } = await import('../state/postgres.js');
  let db: Awaited<ReturnType<typeof connectPostgres>>;
  try {
    db = await connectPostgres(url, { connectTimeoutMs: 5_000, maxConnections: 1 });
  } catch (error) {
    return {
      service: 'PostgreSQL',
      status: 'fail',
      detail: (error as Error).message,
      fix: 'check DATABASE_URL',
    };
  }
  try {
    const { rows } = await db.pool.query<{ version: string; created: boolean }>(
      `SELECT current_setting('server_version') AS version,
         to_regclass('knowledge_totals') IS NOT NULL AND to_regclass('rag_migrations') IS NOT NULL AS created`,
    );
    const row = rows[0]!;
    const counts = row.created
      ? (
          await db.pool.query<{ chunks: string; migrations: number }>(
            `SELECT (SELECT passages::text FROM knowledge_totals) AS chunks,
               (SELECT count(*)::int FROM rag_migrations) AS migrations`,
          )
        ).rows[0]
      : undefined;
    const knowledge = counts
      ? `${Number(counts.chunks).toLocaleString('en-US')} passages, ${counts.migrations} migration(s) applied`
      : 'no tables yet: the first instance to start creates them';
    return {
      service: 'PostgreSQL',
      status: 'ok',
      detail: `PostgreSQL ${row.version} at ${db.description}: ${knowledge}`,
    };
  } finally {
    await db.close();
  }
}

async function discord(config: Config, timeoutMs: number): Promise<CheckResult> {
  const settings = config.discord;
  if (!settings) return { service: 'Discord', status: 'skip', detail: 'DISCORD_TOKEN not set' };
  const rest = new REST({
    timeout: timeoutMs,
    ...(settings.apiURL ? { api: settings.apiURL } : {}),
  }).setToken(settings.token);
  let user: { username: string };
  try {
    user = (await rest.get(Routes.user('@me'))) as { username: string };
  } catch (error) {
    const status = (error as { status?: number }).status;
    return status === 401
      ? {
          service: 'Discord',
          status: 'fail',
          detail: 'the bot token was rejected',
          fix: 'reset the token (Developer Portal → Bot) and set DISCORD_TOKEN',
        }
      : {
          service: 'Discord',
          status: 'fail',
          detail: `cannot reach Discord (${(error as Error).message})`,
          fix: 'check the network, or DISCORD_API_URL',
        };
  }
  const app = (await rest.get(Routes.currentApplication())) as { id: string; flags?: number };
  if (settings.applicationId && settings.applicationId !== app.id) {
    return {
      service: 'Discord',
      status: 'fail',
      detail: `token belongs to application ${app.id}, not DISCORD_APPLICATION_ID`,
      fix: `set DISCORD_APPLICATION_ID=${app.id}`,
    };
  }
  if (((app.flags ?? 0) & MESSAGE_CONTENT_FLAGS) === 0) {
    return {
      service: 'Discord',
      status: 'fail',
      detail: `bot ${user.username} connects, but the Message Content intent is off`,
      fix: 'enable it: Developer Portal → Bot → Privileged Gateway Intents → Message Content Intent',
    };
  }
  return {
    service: 'Discord',
    status: 'ok',
    detail: `bot ${user.username}, application ${app.id}, Message Content intent on`,
  };
}

/** Installing in any workspace: no token of our own; the stored installations must open with the key. */
async function slackInstallations(config: Config, oauth: SlackOAuthConfig): Promise<CheckResult> {
  const { openInstallationStore } = await import('../platforms/slack/installations.js');
  const { InstallationKeyError } = await import('../platforms/slack/token-crypto.js');
  const { openAppDatabase } = await import('../state/app-db.js');
  let appDb: ReturnType<typeof openAppDatabase> | undefined;
  const database = config.database
    ? await (await import('../state/postgres.js')).connectPostgres(config.database.url, { maxConnections: 1 })
    : undefined;
  const store = await openInstallationStore({
    installationKey: oauth.installationKey,
    ...(config.limits.redisURL ? { redisURL: config.limits.redisURL } : {}),
    ...(database ? { database } : {}),
    appDatabase: () => {
      appDb ??= openAppDatabase(config.rag.dataDir);
      return appDb;
    },
  });
  try {
    const { installations, damaged } = await store.checkKeys({ reencrypt: false });
    if (damaged.length > 0) {
      return { service: 'Slack', status: 'fail', detail: damaged.join('; ') };
    }
    return {
      service: 'Slack',
      status: 'ok',
      detail:
        installations === 0
          ? `any workspace (OAuth), no installation yet in ${store.description}: open https://YOUR-HOST/slack/install to add one`
          : `any workspace (OAuth), ${installations} installation(s) in ${store.description}, all readable with SLACK_INSTALLATION_KEY`,
    };
  } catch (error) {
    const keyProblem = error instanceof InstallationKeyError;
    return {
      service: 'Slack',
      status: 'fail',
      detail: keyProblem ? error.message : `cannot read the installations (${(error as Error).message})`,
      fix: keyProblem
        ? 'set SLACK_INSTALLATION_KEY to the key the installations were stored with'
        : `check ${config.database ? 'DATABASE_URL' : config.limits.redisURL ? 'REDIS_URL' : 'RAG_DATA_DIR'}`,
    };
  } finally {
    await store.close();
    await database?.close();
    appDb?.close();
  }
}

async function slack(config: Config, timeoutMs: number): Promise<CheckResult> {
  const settings = config.slack;
  if (!settings)
    return { service: 'Slack', status: 'skip', detail: 'SLACK_BOT_TOKEN / SLACK_CLIENT_ID not set' };
  if (settings.oauth) return slackInstallations(config, settings.oauth);
  const client = new WebClient(settings.botToken, {
    ...(settings.apiURL ? { slackApiUrl: settings.apiURL } : {}),
    timeout: timeoutMs,
    retryConfig: { retries: 0 },
  });
  let auth: Awaited<ReturnType<typeof client.auth.test>>;
  try {
    auth = await client.auth.test();
  } catch (error) {
    const code = (error as { data?: { error?: string } }).data?.error;
    return code
      ? {
          service: 'Slack',
          status: 'fail',
          detail: `token rejected (${code})`,
          fix: 'copy the Bot User OAuth Token into SLACK_BOT_TOKEN',
        }
      : {
          service: 'Slack',
          status: 'fail',
          detail: `cannot reach Slack (${(error as Error).message})`,
          fix: 'check the network, or SLACK_API_URL',
        };
  }
  const granted = new Set(auth.response_metadata?.scopes ?? []);
  const missing = slackManifest.oauth_config.scopes.bot.filter((scope) => !granted.has(scope));
  const mode = settings.appToken ? 'Socket Mode' : 'HTTP mode';
  if (missing.length > 0) {
    return {
      service: 'Slack',
      status: 'fail',
      detail: `bot ${auth.user} in ${auth.team}, missing scopes: ${missing.join(', ')}`,
      fix: 'add them (OAuth & Permissions, or re-paste commands/slack-manifest.json) and reinstall the app',
    };
  }
  return {
    service: 'Slack',
    status: 'ok',
    detail: `bot ${auth.user} in ${auth.team}, all scopes granted, ${mode}`,
  };
}

async function redis(config: Config): Promise<CheckResult> {
  if (!config.limits.redisURL) {
    return {
      service: 'Redis',
      status: 'skip',
      detail: 'REDIS_URL not set: limits and dedupe are per instance',
    };
  }
  const client = await connectRedis(config.limits.redisURL, undefined, 3_000);
  try {
    const pong = await client.ping();
    return { service: 'Redis', status: pong === 'PONG' ? 'ok' : 'fail', detail: `PING → ${pong}` };
  } catch (error) {
    // The client's own refusal ("Stream isn't writeable…") says nothing; why it is not connected does.
    const problem = connectionProblem(client, config.limits.redisURL);
    return {
      service: 'Redis',
      status: 'fail',
      detail: problem ?? `unreachable (${(error as Error).message})`,
      fix: 'check REDIS_URL',
    };
  } finally {
    client.disconnect();
  }
}

export async function runChecks(config: Config, timeoutMs = 8_000): Promise<CheckResult[]> {
  return Promise.all([
    withTimeout('Groq', timeoutMs, () => groq(config, timeoutMs)),
    withTimeout(
      config.upstash ? 'Upstash Vector' : config.database ? 'PostgreSQL' : 'Local store',
      timeoutMs,
      () => store(config),
    ),
    withTimeout('Discord', timeoutMs, () => discord(config, timeoutMs)),
    withTimeout('Slack', timeoutMs, () => slack(config, timeoutMs)),
    withTimeout('Redis', timeoutMs, () => redis(config)),
    // The store row covers PostgreSQL unless Upstash holds the knowledge.
    ...(config.database && config.upstash
      ? [withTimeout('PostgreSQL', timeoutMs, () => postgres(config.database!.url))]
      : []),
  ]);
}

const MARK: Record<CheckStatus, string> = { ok: 'ok', fail: 'FAIL', skip: '-' };

export function formatChecks(results: readonly CheckResult[]): string {
  const rows = results.map((r) => [
    r.service,
    MARK[r.status],
    r.fix ? `${r.detail}. Fix: ${r.fix}` : r.detail,
  ]);
  const widths = [0, 1].map((i) =>
    rows.reduce((widest, row) => Math.max(widest, row[i]!.length), i === 0 ? 7 : 6),
  );
  const line = (row: string[]) => `${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padEnd(widths[1]!)}  ${row[2]}`;
  return [line(['service', 'status', 'detail']), ...rows.map(line)].join('\n');
}
