/**
 * Settings a workspace or server chooses from the chat (`/kb settings`): who "Ask a human"
 * mentions (a Slack user group, a Discord role) and where its digest is posted. Kept with the
 * tenant ("slack:T0123", "discord:8123…"): in the bot's own database (app.db), or in
 * PostgreSQL with DATABASE_URL so every instance on every host reads the same. Read when
 * needed (an answer's buttons, a click, the digest), with no cache to go stale across instances.
 */
import type { AppDatabase } from '../state/app-db.js';
import type { PostgresDatabase } from '../state/postgres.js';

/** One chosen value: the platform's id, and how people know it (a group's handle, a channel's name). */
export interface ChosenTarget {
  readonly id: string;
  readonly label: string;
}

export interface TenantSettings {
  /** Who "Ask a human" mentions: a Slack user group, a Discord role. */
  readonly handoff?: ChosenTarget;
  /** The channel the digest of failed questions is posted in. */
  readonly digest?: ChosenTarget;
  /** Who changed them last ("slack:U0123"). */
  readonly updatedBy?: string;
}

export type SettingName = 'handoff' | 'digest';

/** A change: a new target, or null to clear it. */
export type SettingsChange = Partial<Record<SettingName, ChosenTarget | null>>;

export interface TenantSettingsStore {
  get(platform: string, workspaceId: string): Promise<TenantSettings>;
  update(
    platform: string,
    workspaceId: string,
    change: SettingsChange,
    actor: string,
  ): Promise<TenantSettings>;
  /** Every workspace or server of `platform` with something set, by its id. */
  all(platform: string): Promise<ReadonlyMap<string, TenantSettings>>;
}

interface Row {
  workspace_id: string;
  handoff_id: string | null;
  handoff_label: string | null;
  digest_id: string | null;
  digest_label: string | null;
  updated_by: string | null;
}

function toSettings(row: Row | undefined): TenantSettings {
  if (!row) return {};
  return {
    ...(row.handoff_id
      ? { handoff: { id: row.handoff_id, label: row.handoff_label ?? row.handoff_id } }
      : {}),
    ...(row.digest_id ? { digest: { id: row.digest_id, label: row.digest_label ?? row.digest_id } } : {}),
    ...(row.updated_by ? { updatedBy: row.updated_by } : {}),
  };
}

/** The row after `change`: what it changes, and what it leaves as it was. */
function merged(current: TenantSettings, change: SettingsChange) {
  const pick = (name: SettingName) => (name in change ? (change[name] ?? undefined) : current[name]);
  const handoff = pick('handoff');
  const digest = pick('digest');
  return {
    handoffId: handoff?.id ?? null,
    handoffLabel: handoff?.label ?? null,
    digestId: digest?.id ?? null,
    digestLabel: digest?.label ?? null,
  };
}

const COLUMNS = 'workspace_id, handoff_id, handoff_label, digest_id, digest_label, updated_by';

export function sqliteTenantSettings(app: AppDatabase): TenantSettingsStore {
  app.migrate(
    'tenant-settings-1',
    `CREATE TABLE tenant_settings (
       platform TEXT NOT NULL,
       workspace_id TEXT NOT NULL,
       handoff_id TEXT,
       handoff_label TEXT,
       digest_id TEXT,
       digest_label TEXT,
       updated_by TEXT,
       updated_at TEXT NOT NULL,
       PRIMARY KEY (platform, workspace_id)
     ) STRICT`,
  );
  const get = app.db.prepare(
    `SELECT ${COLUMNS} FROM tenant_settings WHERE platform = ? AND workspace_id = ?`,
  );
  const all = app.db.prepare(`SELECT ${COLUMNS} FROM tenant_settings WHERE platform = ?`);
  const upsert = app.db.prepare(
    `INSERT INTO tenant_settings
       (platform, workspace_id, handoff_id, handoff_label, digest_id, digest_label, updated_by, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (platform, workspace_id) DO UPDATE SET handoff_id = excluded.handoff_id,
       handoff_label = excluded.handoff_label, digest_id = excluded.digest_id,
       digest_label = excluded.digest_label, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
  );
  const read = (platform: string, workspaceId: string) =>
    toSettings(get.get(platform, workspaceId) as Row | undefined);
  return {
    async get(platform, workspaceId) {
      return read(platform, workspaceId);
    },
    async update(platform, workspaceId, change, actor) {
      // One write transaction: a change to one setting never undoes another made meanwhile.
      return app.transaction(() => {
        const next = merged(read(platform, workspaceId), change);
        upsert.run(
          platform,
          workspaceId,
          next.handoffId,
          next.handoffLabel,
          next.digestId,
          next.digestLabel,
          actor,
          new Date().toISOString(),
        );
        return read(platform, workspaceId);
      });
    },
    async all(platform) {
      const rows = all.all(platform) as unknown as Row[];
      return new Map(rows.map((row) => [row.workspace_id, toSettings(row)]));
    },
  };
}

/** The same table in PostgreSQL (DATABASE_URL), shared by every instance. */
export async function postgresTenantSettings(db: PostgresDatabase): Promise<TenantSettingsStore> {
  await db.migrate(
    'tenant-settings-1',
    `CREATE TABLE tenant_settings (
       platform text NOT NULL,
       workspace_id text NOT NULL,
       handoff_id text,
       handoff_label text,
       digest_id text,
       digest_label text,
       updated_by text,
       updated_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (platform, workspace_id)
     )`,
  );
  return {
    async get(platform, workspaceId) {
      const { rows } = await db.pool.query<Row>(
        `SELECT ${COLUMNS} FROM tenant_settings WHERE platform = $1 AND workspace_id = $2`,
        [platform, workspaceId],
      );
      return toSettings(rows[0]);
    },
    async update(platform, workspaceId, change, actor) {
      return db.transaction(async (client) => {
        // The row is locked while changed, so two admins changing two settings at once keep both.
        await client.query(
          `INSERT INTO tenant_settings (platform, workspace_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
          [platform, workspaceId],
        );
        const { rows } = await client.query<Row>(
          `SELECT ${COLUMNS} FROM tenant_settings WHERE platform = $1 AND workspace_id = $2 FOR UPDATE`,
          [platform, workspaceId],
        );
        const next = merged(toSettings(rows[0]), change);
        const updated = await client.query<Row>(
          `UPDATE tenant_settings SET handoff_id = $3, handoff_label = $4, digest_id = $5, digest_label = $6,
             updated_by = $7, updated_at = now()
           WHERE platform = $1 AND workspace_id = $2 RETURNING ${COLUMNS}`,
          [platform, workspaceId, next.handoffId, next.handoffLabel, next.digestId, next.digestLabel, actor],
        );
        return toSettings(updated.rows[0]);
      });
    },
    async all(platform) {
      const { rows } = await db.pool.query<Row>(
        `SELECT ${COLUMNS} FROM tenant_settings WHERE platform = $1`,
        [platform],
      );
      return new Map(rows.map((row) => [row.workspace_id, toSettings(row)]));
    },
  };
}

/** A store opened on first use (app.db is opened lazily). */
export function lazyTenantSettings(open: () => TenantSettingsStore): TenantSettingsStore {
  let store: TenantSettingsStore | undefined;
  const get = () => {
    store ??= open();
    return store;
  };
  return {
    get: (platform, workspaceId) => get().get(platform, workspaceId),
    update: (platform, workspaceId, change, actor) => get().update(platform, workspaceId, change, actor),
    all: (platform) => get().all(platform),
  };
}
