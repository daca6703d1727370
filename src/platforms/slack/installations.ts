/**
 * Where Bolt keeps the workspaces that installed the app (OAuth mode): an `InstallationStore`
 * over sealed records. Each installation is kept whole as one encrypted JSON value
 * (token-crypto: AES-256-GCM, bound to its workspace), so no token, refresh token or user
 * token is ever at rest in clear; only the workspace ids and the key fingerprint are plain.
 *
 * Two homes for the records: the bot's own SQLite database (one instance, or several on one
 * machine sharing RAG_DATA_DIR), or Redis when REDIS_URL is set, so every instance behind a
 * load balancer answers every workspace. Redis must then persist its data (AOF or RDB):
 * installations cannot be rebuilt, a workspace would have to reinstall.
 */
import type { Installation, InstallationQuery, InstallationStore } from '@slack/bolt';
import { WebClient, type WebClientOptions } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { AppDatabase } from '../../state/app-db.js';
import type { PostgresDatabase } from '../../state/postgres.js';
import { createTokenCipher, InstallationKeyError, type TokenCipher } from './token-crypto.js';

/** An event or request from a workspace that has no installation (never installed, or removed). */
export class NoInstallationError extends Error {
  /** `workspace` is for people ("workspace T123"); `id` is the installation's key ("T:T123"). */
  constructor(
    readonly workspace: string,
    readonly id?: string,
  ) {
    super(`no Slack installation for ${workspace}`);
    this.name = 'NoInstallationError';
  }
}

/** One stored installation as the backends see it: ids in clear, the rest sealed. */
export interface SealedInstallation {
  readonly id: string;
  readonly teamId?: string;
  readonly enterpriseId?: string;
  readonly keyId: string;
  readonly sealed: string;
}

/** Storage of sealed records; knows nothing of tokens or keys. */
export interface SealedRecords {
  readonly description: string;
  get(id: string): Promise<SealedInstallation | undefined>;
  put(record: SealedInstallation): Promise<void>;
  delete(id: string): Promise<void>;
  list(): Promise<SealedInstallation[]>;
  close(): Promise<void>;
}

export interface KeyCheck {
  readonly installations: number;
  /** Records sealed with an older key and re-sealed with the current one. */
  readonly reencrypted: number;
  /**
   * Records that cannot be read (altered or damaged), each with what to tell the operator: the
   * workspace and where it is stored. Those workspaces install the app again; the others go on.
   */
  readonly damaged: readonly string[];
}

export interface SlackInstallations extends InstallationStore {
  readonly description: string;
  storeInstallation(installation: Installation): Promise<void>;
  fetchInstallation(query: InstallationQuery<boolean>): Promise<Installation>;
  deleteInstallation(query: InstallationQuery<boolean>): Promise<void>;
  /** tokens_revoked for user tokens: forgets those users' tokens, keeps the bot's. */
  forgetUserTokens(query: InstallationQuery<boolean>, userIds: readonly string[]): Promise<void>;
  /**
   * Opens every record with the configured keys (a wrong SLACK_INSTALLATION_KEY fails here,
   * at start-up, with `InstallationKeyError`) and re-seals those under an older key, unless
   * `reencrypt` is false (the doctor only looks).
   */
  checkKeys(options?: { readonly reencrypt?: boolean }): Promise<KeyCheck>;
  close(): Promise<void>;
}

/** An installation as stored: Bolt's, plus the workspace's URL (for links to messages). */
export type StoredInstallation = Installation & { readonly workspaceUrl?: string };

/**
 * The installation store Bolt's installer writes to, keeping each workspace's URL beside the
 * installation: asked once, at install time, with the new bot token (auth.test's `url`; an
 * organisation-wide install already carries its own), so answers can link to messages without
 * asking Slack again.
 */
export function keepingWorkspaceUrl(
  installations: SlackInstallations,
  clientOptions: WebClientOptions,
): InstallationStore {
  return {
    async storeInstallation(installation, logger) {
      let workspaceUrl = installation.enterpriseUrl as string | undefined;
      if (!workspaceUrl && installation.bot?.token) {
        workspaceUrl = await new WebClient(installation.bot.token, clientOptions).auth
          .test()
          .then((auth) => (typeof auth.url === 'string' ? auth.url : undefined))
          .catch((error: unknown) => {
            logger?.warn(`could not read the workspace's URL: ${(error as Error).message}`);
            return undefined;
          });
      }
      await installations.storeInstallation({ ...installation, ...(workspaceUrl ? { workspaceUrl } : {}) });
    },
    fetchInstallation: (query) => installations.fetchInstallation(query),
    deleteInstallation: (query) => installations.deleteInstallation(query),
  };
}

/** The URL a workspace's stored installation carries, if it does. */
export async function storedWorkspaceUrl(
  installations: SlackInstallations,
  teamId: string,
): Promise<string | undefined> {
  const installation = (await installations
    .fetchInstallation({ teamId, enterpriseId: undefined, isEnterpriseInstall: false })
    .catch(() => undefined)) as StoredInstallation | undefined;
  return installation?.workspaceUrl ?? installation?.enterpriseUrl;
}

/** Org-wide installs (Enterprise Grid) are one record per organisation, others one per workspace. */
export function installationId(scope: {
  isEnterpriseInstall?: boolean;
  enterpriseId?: string | undefined;
  teamId?: string | undefined;
}): string {
  if (scope.isEnterpriseInstall && scope.enterpriseId) return `E:${scope.enterpriseId}`;
  if (scope.teamId) return `T:${scope.teamId}`;
  throw new NoInstallationError('a request without a workspace id');
}

const describe = (id: string) =>
  id.startsWith('E:') ? `organisation ${id.slice(2)}` : `workspace ${id.slice(2)}`;

export function sealedInstallationStore(records: SealedRecords, cipher: TokenCipher): SlackInstallations {
  const seal = (installation: Installation): SealedInstallation => {
    const id = installationId({
      ...(installation.isEnterpriseInstall !== undefined
        ? { isEnterpriseInstall: installation.isEnterpriseInstall }
        : {}),
      ...(installation.enterprise?.id ? { enterpriseId: installation.enterprise.id } : {}),
      ...(installation.team?.id ? { teamId: installation.team.id } : {}),
    });
    return {
      id,
      ...(installation.team?.id ? { teamId: installation.team.id } : {}),
      ...(installation.enterprise?.id ? { enterpriseId: installation.enterprise.id } : {}),
      keyId: cipher.currentKeyId,
      sealed: cipher.seal(JSON.stringify(installation), id),
    };
  };
  const open = (record: SealedInstallation): Installation =>
    JSON.parse(cipher.open(record.sealed, record.id)) as Installation;
  const find = async (query: InstallationQuery<boolean>) => {
    const id = installationId(query);
    const record = await records.get(id);
    if (!record) throw new NoInstallationError(describe(id), id);
    return record;
  };

  return {
    description: records.description,
    async storeInstallation(installation) {
      await records.put(seal(installation));
    },
    async fetchInstallation(query) {
      return open(await find(query));
    },
    async deleteInstallation(query) {
      await records.delete(installationId(query));
    },
    async forgetUserTokens(query, userIds) {
      const record = await records.get(installationId(query));
      if (!record) return;
      const installation = open(record);
      if (!installation.user.token || !userIds.includes(installation.user.id)) return;
      const { token: _token, refreshToken: _refresh, expiresAt: _expires, ...user } = installation.user;
      await records.put(seal({ ...installation, user: { ...user, token: undefined } } as Installation));
    },
    async checkKeys({ reencrypt = true } = {}) {
      const listed = await records.list();
      const damaged: string[] = [];
      const readable = (record: SealedInstallation): boolean => {
        try {
          cipher.keyIdOf(record.sealed);
          return true;
        } catch (error) {
          damaged.push(
            `the Slack installation of ${describe(record.id)} in ${records.description} is damaged (${(error as Error).message}); that workspace must install the app again`,
          );
          return false;
        }
      };
      const all = listed.filter(readable);
      const unknown = all.filter((record) => !cipher.knows(cipher.keyIdOf(record.sealed)));
      if (unknown.length > 0) {
        const ids = [...new Set(unknown.map((record) => cipher.keyIdOf(record.sealed)))];
        throw new InstallationKeyError(
          `SLACK_INSTALLATION_KEY cannot open ${unknown.length} of ${all.length} stored Slack installation(s): they were encrypted with key ${ids.join(', ')}, which is not configured (the current key is ${cipher.currentKeyId}). Restore the key they were stored with; to rotate, put the new key first and keep the old one after a comma until the next start`,
        );
      }
      let reencrypted = 0;
      for (const record of all) {
        let installation: Installation;
        try {
          installation = open(record);
        } catch (error) {
          damaged.push(`${(error as Error).message} (stored in ${records.description})`);
          continue;
        }
        if (!reencrypt || cipher.keyIdOf(record.sealed) === cipher.currentKeyId) continue;
        await records.put(seal(installation));
        reencrypted += 1;
      }
      return { installations: listed.length - damaged.length, reencrypted, damaged };
    },
    close: () => records.close(),
  };
}

/** Sealed records in the bot's own SQLite database (`app.db`). */
export function sqliteRecords(appDb: AppDatabase): SealedRecords {
  appDb.migrate(
    'slack-installations-1',
    `CREATE TABLE slack_installations (
       id TEXT PRIMARY KEY,
       team_id TEXT,
       enterprise_id TEXT,
       key_id TEXT NOT NULL,
       sealed TEXT NOT NULL,
       installed_at TEXT NOT NULL,
       updated_at TEXT NOT NULL
     ) STRICT`,
  );
  const { db } = appDb;
  const get = db.prepare(
    'SELECT id, team_id, enterprise_id, key_id, sealed FROM slack_installations WHERE id = ?',
  );
  const all = db.prepare('SELECT id, team_id, enterprise_id, key_id, sealed FROM slack_installations');
  const put = db.prepare(
    `INSERT INTO slack_installations (id, team_id, enterprise_id, key_id, sealed, installed_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET team_id = excluded.team_id, enterprise_id = excluded.enterprise_id,
       key_id = excluded.key_id, sealed = excluded.sealed, updated_at = excluded.updated_at`,
  );
  const remove = db.prepare('DELETE FROM slack_installations WHERE id = ?');
  const toRecord = (row: Record<string, unknown>): SealedInstallation => ({
    id: String(row.id),
    ...(row.team_id ? { teamId: String(row.team_id) } : {}),
    ...(row.enterprise_id ? { enterpriseId: String(row.enterprise_id) } : {}),
    keyId: String(row.key_id),
    sealed: String(row.sealed),
  });
  return {
    description: `the bot's database (${appDb.file})`,
    async get(id) {
      const row = get.get(id);
      return row ? toRecord(row) : undefined;
    },
    async put(record) {
      const now = new Date().toISOString();
      put.run(
        record.id,
        record.teamId ?? null,
        record.enterpriseId ?? null,
        record.keyId,
        record.sealed,
        now,
        now,
      );
    },
    async delete(id) {
      remove.run(id);
    },
    async list() {
      return all.all().map(toRecord);
    },
    // The database belongs to the bot (composeBot closes it).
    close: async () => undefined,
  };
}

/** Sealed records in PostgreSQL (DATABASE_URL): one table every instance on every host reads. */
export async function postgresRecords(db: PostgresDatabase): Promise<SealedRecords> {
  await db.migrate(
    'slack-installations-1',
    `CREATE TABLE slack_installations (
       id text PRIMARY KEY,
       team_id text,
       enterprise_id text,
       key_id text NOT NULL,
       sealed text NOT NULL,
       installed_at timestamptz NOT NULL DEFAULT now(),
       updated_at timestamptz NOT NULL DEFAULT now()
     )`,
  );
  const columns = 'id, team_id, enterprise_id, key_id, sealed';
  const toRecord = (row: Record<string, unknown>): SealedInstallation => ({
    id: String(row.id),
    ...(row.team_id ? { teamId: String(row.team_id) } : {}),
    ...(row.enterprise_id ? { enterpriseId: String(row.enterprise_id) } : {}),
    keyId: String(row.key_id),
    sealed: String(row.sealed),
  });
  return {
    description: 'PostgreSQL',
    async get(id) {
      const { rows } = await db.pool.query(`SELECT ${columns} FROM slack_installations WHERE id = $1`, [id]);
      return rows[0] ? toRecord(rows[0]) : undefined;
    },
    async put(record) {
      await db.pool.query(
        `INSERT INTO slack_installations (id, team_id, enterprise_id, key_id, sealed) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET team_id = excluded.team_id, enterprise_id = excluded.enterprise_id,
           key_id = excluded.key_id, sealed = excluded.sealed, updated_at = now()`,
        [record.id, record.teamId ?? null, record.enterpriseId ?? null, record.keyId, record.sealed],
      );
    },
    async delete(id) {
      await db.pool.query('DELETE FROM slack_installations WHERE id = $1', [id]);
    },
    async list() {
      const { rows } = await db.pool.query(`SELECT ${columns} FROM slack_installations ORDER BY id`);
      return rows.map(toRecord);
    },
    // The pool belongs to the bot (composeBot closes it).
    close: async () => undefined,
  };
}

const REDIS_KEY = 'rag-chat-bot:slack-installations';

/**
 * Sealed records in one Redis hash, shared by every instance. While Redis is unreachable,
 * workspaces this instance has already seen keep being answered from the copies it read
 * last (still sealed); new installations and deletions need Redis and fail loudly.
 */
export function redisRecords(redis: Redis): SealedRecords {
  const lastSeen = new Map<string, SealedInstallation>();
  const parse = (value: string | null): SealedInstallation | undefined =>
    value ? (JSON.parse(value) as SealedInstallation) : undefined;
  return {
    description: 'Redis (the rag-chat-bot:slack-installations hash)',
    async get(id) {
      let record: SealedInstallation | undefined;
      try {
        record = parse(await redis.hget(REDIS_KEY, id));
      } catch (error) {
        const known = lastSeen.get(id);
        if (known) return known;
        throw error;
      }
      if (record) lastSeen.set(id, record);
      else lastSeen.delete(id);
      return record;
    },
    async put(record) {
      await redis.hset(REDIS_KEY, record.id, JSON.stringify(record));
      lastSeen.set(record.id, record);
    },
    async delete(id) {
      await redis.hdel(REDIS_KEY, id);
      lastSeen.delete(id);
    },
    async list() {
      return Object.values(await redis.hgetall(REDIS_KEY))
        .map(parse)
        .filter((record): record is SealedInstallation => record !== undefined);
    },
    close: async () => {
      redis.disconnect();
    },
  };
}

export interface InstallationStoreOptions {
  /** SLACK_INSTALLATION_KEY. */
  readonly installationKey: string;
  /** REDIS_URL: installations shared by every instance. */
  readonly redisURL?: string;
  /** DATABASE_URL: installations in PostgreSQL, shared by every instance (before Redis). */
  readonly database?: PostgresDatabase;
  /** The bot's own database, used without Redis. */
  readonly appDatabase: () => AppDatabase;
}

/**
 * The installation store the configuration asks for: PostgreSQL with DATABASE_URL, else Redis
 * when REDIS_URL is set, else SQLite.
 */
export async function openInstallationStore(options: InstallationStoreOptions): Promise<SlackInstallations> {
  const cipher = createTokenCipher(options.installationKey);
  if (options.database) return sealedInstallationStore(await postgresRecords(options.database), cipher);
  if (!options.redisURL) return sealedInstallationStore(sqliteRecords(options.appDatabase()), cipher);
  const { connectRedis } = await import('../../ops/redis-state.js');
  return sealedInstallationStore(redisRecords(await connectRedis(options.redisURL)), cipher);
}
