/** Knowledge: which collections each place reads, who may change them, syncing, saving threads, crawling. */
import { defineSettings } from '../settings/area.js';
import { choice, duration, flag, idList, int, optionalString, parsedBy } from '../settings/variables.js';
import { parseRoutes } from './collections.js';

export interface KnowledgeConfig {
  /** KNOWLEDGE_ROUTES: place id → collections. */
  readonly routes: ReadonlyMap<string, readonly string[]>;
  readonly slackAdminUsers: readonly string[];
  readonly discordAdminRole?: string;
  /** Re-sync web sources this often; undefined: never on a schedule. */
  readonly syncIntervalMs?: number;
  /** Who may save a thread as knowledge. */
  readonly saveToKb: 'admins' | 'everyone';
  readonly keepAuthorNames: boolean;
  readonly crawl: {
    readonly maxPages: number;
    readonly maxDepth: number;
    readonly concurrency: number;
    readonly delayMs: number;
    /** Time limit of one page (headers and body); past it the page fails alone. */
    readonly pageTimeoutMs: number;
    /** `/kb add` may name sites on private addresses (the command line always may). */
    readonly allowPrivate: boolean;
  };
}

export interface KnowledgeSlice {
  readonly knowledge: KnowledgeConfig;
}

export const knowledgeSettings = defineSettings({
  variables: {
    /** Which collections each place reads: `C0123=hr,default;T0456=eng`. */
    KNOWLEDGE_ROUTES: parsedBy(
      parseRoutes,
      (message) => `must look like C0123=hr,default;T0456=eng: ${message}`,
    ),
    SLACK_ADMIN_USERS: idList,
    /** A role id or name whose members may run /kb (besides members with Manage Server). */
    DISCORD_ADMIN_ROLE: optionalString,
    SYNC_INTERVAL: duration,
    SAVE_TO_KB: choice(['admins', 'everyone'], 'admins', 'must be admins or everyone'),
    /** Keep authors' names in saved threads (stripped by default). */
    SAVE_TO_KB_KEEP_NAMES: flag,
    CRAWL_MAX_PAGES: int(200, 1, 100_000),
    CRAWL_MAX_DEPTH: int(4, 0, 50),
    CRAWL_CONCURRENCY: int(4, 1, 32),
    CRAWL_DELAY_MS: int(500, 0, 60_000),
    /** Time one page may take, headers and body together, before it is listed as failed. */
    CRAWL_PAGE_TIMEOUT_MS: int(15_000, 500, 600_000),
    /** Let `/kb add` crawl loopback, private and link-local addresses (an intranet wiki). */
    CRAWL_ALLOW_PRIVATE: flag,
  },
  build: (env): KnowledgeSlice => ({
    knowledge: {
      routes: env.KNOWLEDGE_ROUTES,
      slackAdminUsers: env.SLACK_ADMIN_USERS,
      ...(env.DISCORD_ADMIN_ROLE ? { discordAdminRole: env.DISCORD_ADMIN_ROLE } : {}),
      ...(env.SYNC_INTERVAL !== undefined ? { syncIntervalMs: env.SYNC_INTERVAL } : {}),
      saveToKb: env.SAVE_TO_KB,
      keepAuthorNames: env.SAVE_TO_KB_KEEP_NAMES,
      crawl: {
        maxPages: env.CRAWL_MAX_PAGES,
        maxDepth: env.CRAWL_MAX_DEPTH,
        concurrency: env.CRAWL_CONCURRENCY,
        delayMs: env.CRAWL_DELAY_MS,
        pageTimeoutMs: env.CRAWL_PAGE_TIMEOUT_MS,
        allowPrivate: env.CRAWL_ALLOW_PRIVATE,
      },
    },
  }),
});
