/**
 * Builds the answering machinery from configuration: Groq or the offline extractive
 * answerer, Upstash, PostgreSQL or the embedded local store, and the core that joins them. Every
 * front end (terminal, Slack, Discord, `npm start`) starts here, so they all behave alike.
 * The Groq, Upstash and PostgreSQL clients are imported only when configured: the embedded
 * default (offline answers, local store) never loads them.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../config.js';
import { RagCore } from '../core/rag-core.js';
import type { CollectionStore, Generator, KnowledgeStore } from '../core/types.js';
import { DEGRADED_LABEL, ExtractiveGenerator } from '../generators/extractive.js';
import { configureParsing } from '../ingest/parse-pool.js';
import { ingestPaths } from '../ingest/pipeline.js';
import { type Logger, silentLogger } from '../log.js';
import type { PostgresDatabase, PostgresOptions } from '../state/postgres.js';
import { LocalStore } from '../stores/local/index.js';

export interface RuntimeDeps {
  readonly logger?: Logger;
  /** The PostgreSQL database when DATABASE_URL is set (opened by the caller, who closes it). */
  readonly database?: PostgresDatabase;
  /** Told when the first run indexes the sample knowledge base (it takes a moment). */
  readonly onSeed?: (message: string) => void;
}

export interface Runtime {
  readonly answerer: RagCore;
  readonly store: CollectionStore;
  readonly generator: Generator;
  /** One line saying what answers and what is searched, for start-up banners and logs. */
  describe(): string;
}

/**
 * How long a starting bot waits for a PostgreSQL that is not up yet (started beside it by a
 * compose file or an orchestrator, or restarting) before it gives up with the reason. Commands
 * (ingest, report) do not wait: a person is watching.
 */
export const BOT_DATABASE_WAIT_MS = 60_000;

/** The PostgreSQL database DATABASE_URL names; the client is loaded only then. */
export async function openDatabase(
  config: Config,
  logger: Logger = silentLogger,
  options: Pick<PostgresOptions, 'waitForServerMs' | 'sleep' | 'now'> = {},
): Promise<PostgresDatabase> {
  if (!config.database) throw new Error('DATABASE_URL is not set');
  const { connectPostgres } = await import('../state/postgres.js');
  return connectPostgres(config.database.url, {
    logger,
    maxConnections: config.database.poolSize,
    ...options,
  });
}

/**
 * The configured store: Upstash when its variables are set, else PostgreSQL with DATABASE_URL
 * (in `database`, or a pool of its own that lets a command exit when idle), else the local one.
 */
export async function openStore(
  config: Config,
  options: { logger?: Logger; namespace?: string; database?: PostgresDatabase } = {},
): Promise<CollectionStore> {
  const logger = options.logger ?? silentLogger;
  if (config.upstash) {
    const { UpstashStore } = await import('../stores/upstash.js');
    return new UpstashStore({
      url: config.upstash.url,
      token: config.upstash.token,
      namespace: options.namespace ?? config.upstash.namespace,
      ...(config.upstash.hybrid ? { hybrid: config.upstash.hybrid } : {}),
      logger,
    });
  }
  if (config.database) {
    const { PostgresStore } = await import('../stores/postgres/index.js');
    return PostgresStore.open({ db: options.database ?? (await openDatabase(config, logger)), logger });
  }
  return LocalStore.open({ dir: config.rag.dataDir, logger });
}

export async function createGenerator(config: Config, logger: Logger = silentLogger): Promise<Generator> {
  if (!config.groq.apiKey) return new ExtractiveGenerator();
  const { GroqGenerator } = await import('../generators/groq.js');
  return new GroqGenerator({
    apiKey: config.groq.apiKey,
    model: config.groq.model,
    condenseModel: config.groq.condenseModel,
    ...(config.groq.baseURL ? { baseURL: config.groq.baseURL } : {}),
    timeoutMs: config.groq.timeoutMs,
    maxRetries: config.groq.maxRetries,
    retryBudgetMs: config.groq.retryBudgetMs,
    logger,
  });
}

/** An empty local or PostgreSQL store gets the bundled knowledge folder, so a fresh clone can answer. */
async function seedLocalStore(store: KnowledgeStore, config: Config, deps: RuntimeDeps): Promise<void> {
  if ((await store.stats()).vectorCount > 0 || !existsSync(config.rag.knowledgeDir)) return;
  const into = config.database ? store.description : `${config.rag.dataDir}/`;
  deps.onSeed?.(`First run: indexing ${config.rag.knowledgeDir}/ into ${into} …`);
  const summary = await ingestPaths(
    store,
    [config.rag.knowledgeDir],
    deps.logger ? { logger: deps.logger } : {},
  );
  deps.onSeed?.(`Indexed ${summary.files} files (${summary.chunks} passages).`);
}

export async function buildRuntime(config: Config, deps: RuntimeDeps = {}): Promise<Runtime> {
  const logger = deps.logger ?? silentLogger;
  configureParsing(config.parsing);
  const store = await openStore(config, { logger, ...(deps.database ? { database: deps.database } : {}) });
  if (!config.upstash) await seedLocalStore(store, config, deps);
  const generator = await createGenerator(config, logger);
  const answerer = new RagCore({
    retriever: store,
    generator,
    // Only a model can be unavailable; the offline answerer needs no stand-in.
    ...(generator.mode === 'groq'
      ? { fallbackGenerator: new ExtractiveGenerator({ label: DEGRADED_LABEL }) }
      : {}),
    options: {
      topK: config.rag.topK,
      ...(config.rag.minScore !== undefined ? { minScore: config.rag.minScore } : {}),
      maxQuestionChars: config.rag.maxQuestionChars,
      contextTokens: config.rag.contextTokens,
      maxAnswerTokens: config.rag.maxAnswerTokens,
      answerTimeoutMs: config.rag.answerTimeoutMs,
    },
    logger,
  });
  const answers =
    generator.mode === 'groq'
      ? `Groq (${generator.model})`
      : 'offline extracts (set GROQ_API_KEY for written answers)';
  return {
    answerer,
    store,
    generator,
    describe: () => `answers: ${answers} · knowledge: ${store.description}`,
  };
}
