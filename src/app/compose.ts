/**
 * The composition root of every long-running process (`npm start`, each Discord shard, the
 * web chat server): the runtime (store, generator, core), shared state (Redis or in-process),
 * metrics, the guards every answer passes (metrics, draining, limits) and the conversation
 * layer the front ends answer through. One place, so a shard or a new front end is counted,
 * limited and drained exactly like the others.
 */
import type { Config } from '../config.js';
import { attachmentTokenBudget, MAX_ATTACHED_FILES } from '../conversation/attachments.js';
import { ConversationLayer } from '../conversation/layer.js';
import type { Logger } from '../log.js';
import type { DrainingAnswerer } from '../ops/draining-answerer.js';
import { BotMetrics } from '../ops/metrics.js';
import { createSharedState, type SharedState } from '../ops/shared-state.js';
import { StoreRecorder } from '../records/recorder.js';
import { startRetention } from '../records/retention.js';
import { RecordStore } from '../records/store.js';
import { type ThreadSaver, unconfiguredThreadSaver } from '../records/thread-saver.js';
import { type AppDatabase, openAppDatabase } from '../state/app-db.js';
import { guardAnswerer } from './guarded.js';
import { buildRuntime, type Runtime, type RuntimeDeps } from './runtime.js';

export interface Bot {
  readonly config: Config;
  readonly log: Logger;
  readonly runtime: Runtime;
  readonly metrics: BotMetrics;
  readonly shared: SharedState;
  readonly draining: DrainingAnswerer;
  readonly conversations: ConversationLayer;
  /** The bot's own database (settings, sources, installations, records), opened on first use. */
  appDatabase(): AppDatabase;
  /** Answer records (src/records): written by the layer, read by the report and the digest. */
  readonly records: RecordStore;
  readonly recorder: StoreRecorder;
  /** Saves a thread as knowledge (the digest's "Save as knowledge"). */
  readonly threadSaver: ThreadSaver;
  /**
   * Graceful stop: refuse new questions, let answers in flight finish within the grace
   * period (then interrupt them), stop the front ends, release shared state.
   */
  stop(frontEnds: readonly { stop(): Promise<void> }[]): Promise<void>;
}

export async function composeBot(config: Config, log: Logger, deps: RuntimeDeps = {}): Promise<Bot> {
  const runtime = await buildRuntime(config, { logger: log, ...deps });
  const shared = await createSharedState(config.limits.redisURL, log);
  const metrics = new BotMetrics();
  const { answerer, draining } = guardAnswerer(runtime.answerer, config, shared.rates, metrics);
  let appDb: AppDatabase | undefined;
  const appDatabase = () => {
    appDb ??= openAppDatabase(config.rag.dataDir);
    return appDb;
  };
  const records = new RecordStore(appDatabase());
  const recorder = new StoreRecorder(records, { keepText: config.records.keepText, log });
  const stopRetention = startRetention(records, { days: config.records.days, log });
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
  });
  return {
    config,
    log,
    runtime,
    metrics,
    shared,
    draining,
    conversations,
    appDatabase,
    records,
    recorder,
    threadSaver: unconfiguredThreadSaver,
    async stop(frontEnds) {
      log.info({ inFlight: draining.activeAnswers }, 'shutting down: finishing answers in progress');
      const result = await draining.drain(config.limits.shutdownGraceMs);
      if (!result.finished)
        log.warn({ interrupted: result.interrupted }, 'interrupted answers that outlasted the grace period');
      await Promise.allSettled(frontEnds.map((frontEnd) => frontEnd.stop()));
      stopRetention();
      await recorder.settled();
      await shared.close();
      appDb?.close();
    },
  };
}
