/**
 * The composition root of every long-running process (`npm start`, each Discord shard, the
 * web chat server): the runtime (store, generator, core), shared state (Redis or in-process),
 * metrics, the guards every answer passes (metrics, draining, limits) and the conversation
 * layer the front ends answer through. One place, so a shard or a new front end is counted,
 * limited and drained exactly like the others.
 */
import { join } from 'node:path';
import type { Config } from '../config.js';
import { attachmentTokenBudget, MAX_ATTACHED_FILES } from '../conversation/attachments.js';
import { ConversationLayer } from '../conversation/layer.js';
import { AnswerHandover } from '../handover/tracker.js';
import { parsePool } from '../ingest/parse-pool.js';
import { knowledgeRepositories } from '../knowledge/repositories.js';
import { routedAnswerer } from '../knowledge/routed-answerer.js';
import { postgresRouteStore, type RouteStore, redisRouteStore } from '../knowledge/routes-store.js';
import { type SyncSchedule, startSyncSchedule } from '../knowledge/scheduler.js';
import { KnowledgeService } from '../knowledge/service.js';
import type { Logger } from '../log.js';
import type { DrainingAnswerer } from '../ops/draining-answerer.js';
import { BotMetrics } from '../ops/metrics.js';
import { createSharedState, type SharedState } from '../ops/shared-state.js';
import { loadPseudonymKey } from '../records/pseudonyms.js';
import { StoreRecorder } from '../records/recorder.js';
import { startRetention } from '../records/retention.js';
import { type AnswerRecords, RecordStore } from '../records/store.js';
import { type AppDatabase, openAppDatabase } from '../state/app-db.js';
import type { PostgresDatabase } from '../state/postgres.js';
import {
  lazyTenantSettings,
  postgresTenantSettings,
  sqliteTenantSettings,
  type TenantSettingsStore,
} from '../tenants/settings-store.js';
import { guardAnswerer } from './guarded.js';
import {
  BOT_DATABASE_WAIT_MS,
  buildRuntime,
  openDatabase,
  type Runtime,
  type RuntimeDeps,
} from './runtime.js';
import { tenantPlatforms } from './tenant-platforms.js';

export interface Bot {
  readonly config: Config;
  readonly log: Logger;
  readonly runtime: Runtime;
  readonly metrics: BotMetrics;
  readonly shared: SharedState;
  /** The PostgreSQL database (DATABASE_URL), shared by the store and the state; absent without it. */
  readonly database?: PostgresDatabase;
  readonly draining: DrainingAnswerer;
  readonly conversations: ConversationLayer;
  /** Collections, routes, sources and saved threads (`/kb`, save-to-knowledge, the sync schedule). */
  readonly knowledge: KnowledgeService;
  /**
   * Starts re-syncing the sources every SYNC_INTERVAL (once per process that calls it; a
   * no-op when unset). `npm start` calls it; Discord shards and `npm run web` do not.
   */
  startSyncSchedule(): SyncSchedule | undefined;
  /** The bot's own database (settings, sources, installations, records), opened on first use. */
  appDatabase(): AppDatabase;
  /** Answer records (src/records): written by the layer, read by the report and the digest. */
  readonly records: AnswerRecords;
  /** Each workspace's or server's `/kb settings` (hand-off group or role, digest channel). */
  readonly tenantSettings: TenantSettingsStore;
  readonly recorder: StoreRecorder;
  /**
   * Graceful stop: refuse new questions, let answers in flight finish within the grace
   * period (then interrupt them), stop the front ends, release shared state.
   */
  stop(frontEnds: readonly { stop(): Promise<void> }[]): Promise<void>;
}

export async function composeBot(config: Config, log: Logger, deps: RuntimeDeps = {}): Promise<Bot> {
  const database =
    deps.database ??
    (config.database
      ? await openDatabase(config, log, { waitForServerMs: BOT_DATABASE_WAIT_MS })
      : undefined);
  const runtime = await buildRuntime(config, { logger: log, ...deps, ...(database ? { database } : {}) });
  const shared = await createSharedState(config.limits.redisURL, log, database ? { database } : {});
  const metrics = new BotMetrics();
  let appDb: AppDatabase | undefined;
  const appDatabase = () => {
    appDb ??= openAppDatabase(config.rag.dataDir);
    return appDb;
  };
  // With DATABASE_URL the records of every instance are in one place; otherwise in app.db.
  const records: AnswerRecords = database
    ? await (await import('../records/postgres-store.js')).PostgresRecordStore.open(
        database,
        config.records.pseudonymSecret,
      )
    : new RecordStore(appDatabase(), loadPseudonymKey(config.rag.dataDir, config.records.pseudonymSecret));
  const recorder = new StoreRecorder(records, { keepText: config.records.keepText, log });
  // Per-workspace settings, beside the routes: in PostgreSQL with DATABASE_URL, else app.db.
  const tenantSettings = database
    ? await postgresTenantSettings(database)
    : lazyTenantSettings(() => sqliteTenantSettings(appDatabase()));
  const stopRetention = startRetention(records, { days: config.records.days, log });
  // `/kb use` routes are shared by every instance: in PostgreSQL with DATABASE_URL, else in Redis.
  const routesRedis =
    config.limits.redisURL && !database
      ? await (await import('../ops/redis-state.js')).connectRedis(config.limits.redisURL, log)
      : undefined;
  const routes: RouteStore | undefined = database
    ? await postgresRouteStore(database)
    : routesRedis
      ? redisRouteStore(routesRedis, log)
      : undefined;
  const knowledge = new KnowledgeService({
    store: runtime.store,
    appDatabase,
    ...(routes ? { routes } : {}),
    // With DATABASE_URL the sources, their sync state and locks are every instance's.
    ...(await knowledgeRepositories(database)),
    settings: config.knowledge,
    cacheDir: join(config.rag.dataDir, 'sources'),
    logger: log,
    // Several workspaces or servers share this bot: each has its own knowledge.
    tenantPlatforms: tenantPlatforms(config),
  });
  const unmanaged = await knowledge.sharedChatSources();
  if (unmanaged.length > 0) {
    log.warn(
      { sources: unmanaged.map((source) => `#${source.id} ${source.url} → ${source.collection}`) },
      'web sources added from a chat before each workspace or server had its own knowledge sit in a collection every tenant reads; no tenant can manage them from the chat: remove them with npm run ingest -- --remove <number>, then let each workspace add its own',
    );
  }
  for (const conflict of await knowledge.routeConflicts()) {
    log.warn(
      {
        collection: conflict.collection,
        claimedBy: conflict.owner,
        routedTo: conflict.routedTo,
        sources: conflict.sources.map(
          (source) => `#${source.id} ${source.url} (${source.tenant ?? conflict.owner})`,
        ),
      },
      'KNOWLEDGE_ROUTES routes a collection beyond the workspace or server that took it from its chat: the routes win (it is read, written and managed only where routed); that tenant’s sources in it are no longer synced: remove them with npm run ingest -- --remove <number>, or route another name',
    );
  }
  // Each question reads only the collections routed to its place.
  const routed = routedAnswerer(
    runtime.answerer,
    (question) => knowledge.collectionsFor(question.place),
    log,
  );
  const { answerer, draining } = guardAnswerer(routed, config, shared.rates, metrics);
  // With DATABASE_URL an answer survives its instance: recorded with a heartbeat, finished by
  // another instance if this one dies (src/handover).
  const handover =
    database && config.database
      ? new AnswerHandover({
          store: await (await import('../handover/postgres-store.js')).PostgresInFlightStore.open(database, {
            // A heartbeat that has not come back by the next one has failed.
            queryTimeoutMs: Math.max(1_000, Math.floor(config.database.answerTakeoverMs / 3)),
          }),
          takeoverMs: config.database.answerTakeoverMs,
          log,
        })
      : undefined;
  const conversations = new ConversationLayer({
    answerer,
    log,
    dedupe: shared.dedupe,
    maxQuestionChars: config.rag.maxQuestionChars,
    attachments: {
      maxFileBytes: config.attachments.maxFileMB * 1024 * 1024,
      maxTokens: attachmentTokenBudget(config.attachments.maxTokens, config.rag.contextTokens),
      maxFiles: MAX_ATTACHED_FILES,
    },
    recorder,
    escalations: {
      rates: shared.rates,
      userPerHour: config.limits.escalationUserPerHour,
      channelPerHour: config.limits.escalationChannelPerHour,
    },
    ...(handover ? { handover } : {}),
  });
  let schedule: SyncSchedule | undefined;
  return {
    config,
    log,
    runtime,
    metrics,
    shared,
    ...(database ? { database } : {}),
    draining,
    conversations,
    appDatabase,
    records,
    recorder,
    tenantSettings,
    knowledge,
    startSyncSchedule() {
      if (config.knowledge.syncIntervalMs === undefined) return undefined;
      schedule ??= startSyncSchedule(knowledge, config.knowledge.syncIntervalMs, log);
      return schedule;
    },
    async stop(frontEnds) {
      log.info({ inFlight: draining.activeAnswers }, 'shutting down: finishing answers in progress');
      // No more takeovers; this instance's own answers keep their heartbeat while they finish.
      handover?.stopTakingOver();
      const result = await draining.drain(config.limits.shutdownGraceMs);
      if (!result.finished)
        log.warn(
          { interrupted: result.interrupted },
          handover
            ? 'interrupted answers that outlasted the grace period; another instance finishes them'
            : 'interrupted answers that outlasted the grace period',
        );
      await handover?.stop();
      await Promise.allSettled(frontEnds.map((frontEnd) => frontEnd.stop()));
      stopRetention();
      await recorder.settled();
      await schedule?.stop();
      await knowledge.stop();
      // Nothing parses for this process any more: a parser still reading a document (a page of
      // a sync just cancelled) is ended now rather than outliving the bot until its time budget.
      await parsePool().close();
      await shared.close();
      routesRedis?.disconnect();
      appDb?.close();
      // A database the caller passed in is the caller's to close.
      if (database && !deps.database) await database.close();
    },
  };
}
