/**
 * `npm run ingest -- <files, folders or source URLs> [--collection c] [--prune] [--namespace ns] [--reset [--yes]] [--text-field f]`
 * Adds documents to the configured store (Upstash when configured, else the local store), in
 * one collection. A URL is registered as a source of its kind (a site, a Git repository, GitHub
 * issues, a Notion or Confluence tree) and synced with a progress bar, so a running bot
 * re-syncs it on its schedule (SYNC_INTERVAL) and `/kb` lists it.
 * Exit codes: 0 everything landed, 1 some files or pages failed (or none was found), 2 usage,
 * configuration or store error.
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { openDatabase, openStore } from '../app/runtime.js';
import { tenantPlatforms } from '../app/tenant-platforms.js';
import { loadConfig } from '../config.js';
import { isRagError } from '../core/failures.js';
import { type CollectionStore, DEFAULT_COLLECTION, type KnowledgeStore } from '../core/types.js';
import { CrawlError } from '../ingest/crawl.js';
import { configureParsing } from '../ingest/parse-pool.js';
import { type IngestProgress, type IngestSummary, ingestPaths } from '../ingest/pipeline.js';
import { isCollectionName } from '../knowledge/collections.js';
import { SourceError, type SourceKind } from '../knowledge/kinds/kind.js';
import { type KnowledgeRepositories, knowledgeRepositories } from '../knowledge/repositories.js';
import { describeSync, KnowledgeService, SyncBusyError } from '../knowledge/service.js';
import type { SourceRecord } from '../knowledge/sources.js';
import type { SyncSummary } from '../knowledge/sync.js';
import { createLogger } from '../log.js';
import { openAppDatabase } from '../state/app-db.js';
import { runCommand } from './run.js';

/** What the pipeline reads, in words (src/ingest/loaders.ts has the extensions). */
const FORMATS = 'Markdown, plain text, HTML, PDF or JSON';

const USAGE = `Add documents to the knowledge base.

  npm run ingest -- <files, folders or source URLs>… [options]

Options:
  --collection <name>  collection to add to (default: default); places read the
                       collections routed to them (KNOWLEDGE_ROUTES, /kb use)
  --prune              remove chunks of files that changed or were deleted
  --namespace <name>   Upstash namespace to write into (default: UPSTASH_VECTOR_NAMESPACE)
  --reset              delete everything in the store first (asks for confirmation)
  --yes                confirm --reset without asking (for scripts)
  --text-field <name>  field of JSON records that holds the text (default: text)
  --remove <source>    remove a web source (its number or URL) and every passage of it
  -h, --help           show this help

Formats: Markdown, plain text, HTML, PDF, and JSON arrays of records (UTF-8 text).
Files over INGEST_MAX_FILE_MB (default 20) are reported and skipped; symbolic links are
followed when they point inside the folders given.

A URL is a source, remembered so that running the same command again re-syncs it cheaply
and a running bot re-syncs it every SYNC_INTERVAL:
  https://github.com/org/repo[/tree/<branch>/<folder>], any …/repo.git
                       a Git repository's Markdown, MDX, reStructuredText and text files
                       (GIT_HOST_TOKENS, or GIT_TOKEN with GIT_TOKEN_HOSTS, for private ones)
  https://github.com/org/repo/issues, …/discussions
                       closed issues with their comments, answered discussions (GITHUB_TOKEN)
  https://www.notion.so/…-<page id>
                       a Notion page and its sub-pages, or a database (NOTION_TOKEN)
  https://<site>.atlassian.net/wiki/spaces/KEY[/pages/<id>]
                       a Confluence space or page tree (CONFLUENCE_URL, _EMAIL, _TOKEN)
  any other https://docs.example.com/
                       a site, crawled under that folder as robots.txt allows
                       (CRAWL_MAX_PAGES, CRAWL_MAX_DEPTH, CRAWL_DELAY_MS, CRAWL_CONCURRENCY)`;

async function confirmReset(store: KnowledgeStore, assumeYes: boolean): Promise<boolean> {
  if (assumeYes) return true;
  if (!process.stdin.isTTY) {
    process.stderr.write(
      '--reset deletes everything in the store; add --yes to confirm when not at a terminal.\n',
    );
    return false;
  }
  const { vectorCount } = await store.stats();
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(
    `Delete all ${vectorCount} passages in ${store.description}? Type "yes" to confirm: `,
  );
  rl.close();
  return answer.trim().toLowerCase() === 'yes';
}

function progressReporter(): { onProgress: (progress: IngestProgress) => void; stop: () => void } {
  if (!process.stderr.isTTY) {
    return { onProgress: () => undefined, stop: () => undefined };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: ' {phase} [{bar}] {value}/{total} · {chunks} chunks, {upserted} uploaded',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let phase = '';
  return {
    onProgress(progress) {
      const counts = { chunks: progress.chunks, upserted: progress.upserted };
      if (progress.phase !== phase) {
        if (phase) bar.stop();
        phase = progress.phase;
        bar.start(progress.total, progress.done, { phase: progress.phase.padEnd(7), ...counts });
      } else bar.update(progress.done, counts);
    },
    stop: () => bar.stop(),
  };
}

/** True when a run found nothing to do: no file read, none failed, nothing removed. */
export function foundNothing(summary: IngestSummary): boolean {
  return summary.files === 0 && summary.failed.length === 0 && summary.removed === 0;
}

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/**
 * The summary after ingesting paths: the counts, then what failed and what was left out, in
 * words that match what happened: some files landed and some failed, none landed, or nothing
 * ingestible was found at all.
 */
export function formatSummary(summary: IngestSummary, where: string): string {
  const rows: [string, number][] = [
    ['files', summary.files],
    ['chunks', summary.chunks],
    ['upserted', summary.upserted],
    ['unchanged', summary.unchanged],
    ['removed', summary.removed],
    ['failed', summary.failed.length],
  ];
  const landed = summary.files > 0 || summary.removed > 0;
  const lines = [
    landed ? `Ingested into ${where}:` : `Nothing was ingested into ${where}:`,
    ...rows.map(([label, value]) => `  ${label.padEnd(10)} ${value}`),
  ];
  if (summary.failed.length > 0) {
    lines.push(
      '',
      summary.files > 0
        ? `Failed (left out; the other ${plural(summary.files, 'file')} landed):`
        : summary.failed.length === 1
          ? 'Failed:'
          : `Failed (all ${summary.failed.length}):`,
    );
    for (const problem of summary.failed) lines.push(`  ${problem.path}: ${problem.reason}`);
  }
  if (summary.skipped.length > 0) {
    // Unsupported types are common (images, archives): counted with an example. Anything
    // else left out (links leading outside, broken links) is named one by one.
    const unsupported = summary.skipped.filter((problem) => problem.reason === 'unsupported file type');
    const other = summary.skipped.filter((problem) => problem.reason !== 'unsupported file type');
    lines.push('');
    if (unsupported.length > 0) {
      lines.push(`Skipped ${unsupported.length} file(s) of unsupported types, e.g. ${unsupported[0]!.path}`);
    }
    if (other.length > 0) {
      lines.push('Skipped:');
      for (const problem of other) lines.push(`  ${problem.path}: ${problem.reason}`);
    }
  }
  if (foundNothing(summary)) {
    lines.push(
      '',
      `No document to ingest was found there: name files or folders holding ${FORMATS} documents (or a site's URL).`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function isSiteURL(positional: string): boolean {
  return /^https?:\/\//i.test(positional);
}

/** `--remove <source>`: a web source and every passage of it, as `/kb remove` does from a chat. */
async function removeSource(reference: string): Promise<number> {
  const config = loadConfig();
  const logger = createLogger({ level: process.env.LOG_LEVEL ? config.log.level : 'warn', format: 'pretty' });
  const store = await openStore(config, { logger });
  const app = openAppDatabase(config.rag.dataDir);
  const shared = await sharedRepositories(config, logger);
  try {
    const knowledge = new KnowledgeService({
      store,
      appDatabase: () => app,
      ...shared.repositories,
      settings: config.knowledge,
      cacheDir: join(config.rag.dataDir, 'sources'),
      logger,
    });
    const source = await knowledge.findSource(reference);
    if (!source) {
      process.stderr.write(`There is no source ${reference.slice(0, 200)} (a number or URL).\n`);
      return 2;
    }
    const pages = await knowledge.removeSource(source);
    process.stdout.write(
      `Removed ${source.url} (source #${source.id}, collection ${source.collection}) and its ${pages} page(s).\n`,
    );
    return 0;
  } finally {
    app.close();
    await shared.close();
  }
}

/**
 * With DATABASE_URL the sources are every instance's: registered, synced and removed in
 * PostgreSQL, so the bots' schedule re-syncs what was ingested here and `/kb list` shows it.
 */
async function sharedRepositories(
  config: ReturnType<typeof loadConfig>,
  logger: ReturnType<typeof createLogger>,
): Promise<{ repositories: KnowledgeRepositories; close(): Promise<void> }> {
  if (!config.database) return { repositories: {}, close: async () => undefined };
  const database = await openDatabase(config, logger);
  return { repositories: await knowledgeRepositories(database), close: () => database.close() };
}

/**
 * Where the bot keeps tenants apart, whether the operator may write into `collection`: a name a
 * workspace or server took from its chat is that tenant's, and it would read what is ingested
 * there. Refused, unless KNOWLEDGE_ROUTES routes the name (the routes win: the tenant reads it
 * no more, and is warned about at the bot's start-up). Returns the refusal, if any.
 */
async function chatClaimRefusal(
  store: CollectionStore,
  collection: string,
  config: ReturnType<typeof loadConfig>,
  logger: ReturnType<typeof createLogger>,
): Promise<string | undefined> {
  if (tenantPlatforms(config).size === 0) return undefined;
  const app = openAppDatabase(config.rag.dataDir);
  const shared = await sharedRepositories(config, logger);
  try {
    const claim = await new KnowledgeService({
      store,
      appDatabase: () => app,
      ...shared.repositories,
      settings: config.knowledge,
      tenantPlatforms: tenantPlatforms(config),
    }).chatClaim(collection);
    if (!claim) return undefined;
    if (claim.routed) {
      process.stderr.write(
        `Note: the collection ${collection} was taken from the chat by ${claim.owner}; KNOWLEDGE_ROUTES routes it, so only the places it names read it (that workspace or server no longer does).\n`,
      );
      return undefined;
    }
    return `The collection ${collection} belongs to ${claim.owner}, which took it from its chat: that workspace or server would read what you ingest. Choose another --collection, or route ${collection} with KNOWLEDGE_ROUTES (the routes win over the chat's claim) and run again.`;
  } finally {
    app.close();
    await shared.close();
  }
}

/** Registers each URL as a source (a site, a repository, …) for the bot's schedule, and syncs it now. */
async function ingestSources(
  store: CollectionStore,
  urls: readonly string[],
  collection: string,
  config: ReturnType<typeof loadConfig>,
  logger: ReturnType<typeof createLogger>,
): Promise<{ summary: SyncSummary; kind?: SourceKind }[]> {
  const app = openAppDatabase(config.rag.dataDir);
  const shared = await sharedRepositories(config, logger);
  try {
    const knowledge = new KnowledgeService({
      store,
      appDatabase: () => app,
      ...shared.repositories,
      settings: config.knowledge,
      cacheDir: join(config.rag.dataDir, 'sources'),
      logger,
    });
    const sources: SourceRecord[] = [];
    for (const url of urls) sources.push((await knowledge.addSource(url, collection, 'cli')).source);
    const bar = process.stderr.isTTY
      ? new cliProgress.SingleBar(
          {
            format: ' {label} [{bar}] {value}/{total} · {item}',
            stream: process.stderr,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
    let current = -1;
    try {
      const summaries = await knowledge.sync(sources, (source, progress) => {
        const total = Math.max(progress.total ?? progress.done, progress.done);
        const payload = { item: progress.item.slice(-60), label: knowledge.kindOf(source)?.name ?? '' };
        if (current !== source.id) {
          bar?.stop();
          current = source.id;
          bar?.start(total, progress.done, payload);
        } else {
          bar?.setTotal(total);
          bar?.update(progress.done, payload);
        }
      });
      return summaries.map((summary) => {
        const kind = knowledge.kindOf(summary.source);
        return { summary, ...(kind ? { kind } : {}) };
      });
    } finally {
      bar?.stop();
      await knowledge.stop();
    }
  } finally {
    app.close();
    await shared.close();
  }
}

export function formatSyncSummary(summary: SyncSummary, kind?: SourceKind): string {
  const source = summary.source;
  const noun = kind?.noun ?? 'page(s)';
  const verb = !kind || kind.name === 'web' ? 'Crawled' : `Synced ${kind.label}`;
  const lines = [`${verb} ${source.url} into collection ${source.collection} (source #${source.id}):`];
  if (summary.error) {
    lines.push(`  failed: ${summary.error} (what it had is kept)`);
    return `${lines.join('\n')}\n`;
  }
  const rows: [string, number][] = [
    [noun.replace('(s)', 's'), summary.pages],
    ['added', summary.added],
    ['updated', summary.updated],
    ['unchanged', summary.unchanged],
    ['removed', summary.removed],
    ['chunks', summary.chunksUpserted],
    ['failed', summary.failed.length],
  ];
  lines.push(...rows.map(([label, value]) => `  ${label.padEnd(10)} ${value}`));
  lines.push(`  (${describeSync(summary, noun)})`);
  if (summary.failed.length > 0) {
    const items = noun.replace('(s)', 's');
    lines.push(
      '',
      `${items[0]!.toUpperCase()}${items.slice(1)} that failed (kept as they were; retried next sync):`,
    );
    for (const page of summary.failed) lines.push(`  ${page.url}: ${page.reason}`);
  }
  return `${lines.join('\n')}\n`;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      prune: { type: 'boolean' },
      namespace: { type: 'string' },
      reset: { type: 'boolean' },
      yes: { type: 'boolean', short: 'y' },
      'text-field': { type: 'string' },
      collection: { type: 'string', short: 'c' },
      remove: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = args;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.remove !== undefined) return removeSource(values.remove);
  if (positionals.length === 0 && !values.reset) {
    process.stderr.write(`Name at least one file or folder (or a source URL) to ingest.\n\n${USAGE}\n`);
    return 2;
  }
  const collection = (values.collection ?? DEFAULT_COLLECTION).trim().toLowerCase();
  if (!isCollectionName(collection)) {
    process.stderr.write(
      `--collection: "${collection.slice(0, 40)}" is not a collection name (lower-case letters, digits, - and _, up to 40).\n`,
    );
    return 2;
  }
  const sites = positionals.filter(isSiteURL);
  const paths = positionals.filter((positional) => !isSiteURL(positional));

  let store: KnowledgeStore;
  try {
    const config = loadConfig();
    configureParsing(config.parsing);
    if (values.namespace !== undefined && !config.upstash) {
      process.stderr.write('Note: --namespace applies to Upstash only; the local store has no namespaces.\n');
    }
    const logger = createLogger({
      level: process.env.LOG_LEVEL ? config.log.level : 'warn',
      format: process.env.LOG_FORMAT ? config.log.format : 'pretty',
    });
    const opened = await openStore(config, {
      logger,
      ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
    });
    const refusal = await chatClaimRefusal(opened, collection, config, logger);
    if (refusal) {
      process.stderr.write(`${refusal}\n`);
      return 2;
    }
    store = opened.collection(collection);
    if (values.reset) {
      if (!(await confirmReset(store, values.yes === true))) {
        process.stderr.write('Reset cancelled; nothing was deleted.\n');
        return 2;
      }
      await store.reset();
      process.stdout.write(`Reset ${store.description}.\n`);
      if (positionals.length === 0) return 0;
    }
    let siteFailures = 0;
    if (sites.length > 0) {
      const results = await ingestSources(opened, sites, collection, config, logger);
      for (const { summary, kind } of results) process.stdout.write(formatSyncSummary(summary, kind));
      siteFailures = results.filter(({ summary }) => summary.error || summary.failed.length > 0).length;
      if (paths.length === 0) return siteFailures > 0 ? 1 : 0;
    }
    const progress = progressReporter();
    let summary: IngestSummary;
    try {
      summary = await ingestPaths(store, paths, {
        prune: values.prune === true,
        ...(values['text-field'] ? { textField: values['text-field'] } : {}),
        maxFileBytes: config.ingest.maxFileMB * 1024 * 1024,
        // No logger: the summary below reports each failed file once.
        onProgress: progress.onProgress,
      });
    } finally {
      progress.stop();
    }
    process.stdout.write(formatSummary(summary, store.description));
    return summary.failed.length > 0 || siteFailures > 0 || foundNothing(summary) ? 1 : 0;
  } catch (error) {
    if (error instanceof CrawlError || error instanceof SourceError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    if (error instanceof SyncBusyError) {
      process.stderr.write(
        'Another sync of the sources is running (the bot or another ingest); try again when it has finished.\n',
      );
      return 2;
    }
    if (isRagError(error)) {
      process.stderr.write(`Ingestion stopped: ${error.failure.message}\n`);
      return 2;
    }
    throw error;
  }
}

runCommand(main);
