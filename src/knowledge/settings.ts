/** Knowledge: which collections each place reads, who may change them, syncing, saving threads, crawling. */
import { defineSettings } from '../settings/area.js';
import {
  choice,
  duration,
  flag,
  idList,
  int,
  optionalString,
  optionalUrl,
  parsedBy,
} from '../settings/variables.js';
import { parseHostPatterns } from './address-guard.js';
import { parseRoutes } from './collections.js';
import { parseHostTokens, parseTokenHosts } from './kinds/environment.js';

export interface KnowledgeConfig {
  /** KNOWLEDGE_ROUTES: place id → collections. */
  readonly routes: ReadonlyMap<string, readonly string[]>;
  readonly slackAdminUsers: readonly string[];
  readonly discordAdminRole?: string;
  /** Re-sync every source this often; undefined: never on a schedule. */
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
    /** Host names chat-added sources may reach on private addresses (CRAWL_ALLOW_HOSTS). */
    readonly allowHosts: readonly string[];
    /** Time one source's sync may take; past it, what was fetched lands and the rest waits. */
    readonly syncTimeoutMs: number;
  };
  /** Tokens and API locations the source kinds read (Git, GitHub, Notion, Confluence). */
  readonly sources: Readonly<Record<string, string | undefined>>;
  /** Sources one workspace or server may add from the chat. */
  readonly maxSourcesPerTenant: number;
  /**
   * Workspaces and servers (ids, or `*`) that may add from the chat sources read with the
   * operator's tokens, where tenants are kept apart.
   */
  readonly credentialedTenants: readonly string[];
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
    /**
     * Host names (`wiki.internal`, or `*.corp.example` for its subdomains) that `/kb add` may
     * reach on private addresses: an intranet wiki or Git server, without opening every private
     * address as CRAWL_ALLOW_PRIVATE does.
     */
    CRAWL_ALLOW_HOSTS: parsedBy(parseHostPatterns),
    /** Time one source's sync may take before it stops and keeps what it fetched (10 minutes). */
    CRAWL_SYNC_TIMEOUT_MS: int(600_000, 10_000, 86_400_000),
    /** Sources one workspace or server may add from the chat (`/kb add`). */
    KB_MAX_SOURCES: int(20, 1, 10_000),
    /** Slack workspace and Discord server ids (or `*`) whose admins may add token-read sources. */
    KB_CREDENTIALED_TENANTS: idList,
    /** A token for private Git repositories (read access), sent to the GIT_TOKEN_HOSTS only. */
    GIT_TOKEN: optionalString,
    /** The hosts GIT_TOKEN is sent to, `github.com,gitlab.example.com`. */
    GIT_TOKEN_HOSTS: parsedBy((value) => {
      parseTokenHosts(value);
      return value?.trim() || undefined;
    }),
    /** Memory the process reading one Git repository may use, in MB (its packs are inflated there). */
    GIT_MEMORY_MB: int(1024, 64, 65_536),
    /** Tokens per Git host, `host=token,host=token`; a host's own wins over GIT_TOKEN. */
    GIT_HOST_TOKENS: parsedBy((value) => {
      parseHostTokens(value);
      return value?.trim() || undefined;
    }),
    /** GitHub issues and discussions: a token (fine-grained: Issues and Discussions read). */
    GITHUB_TOKEN: optionalString,
    GITHUB_API_URL: optionalUrl('the GitHub API, e.g. https://github.example.com/api/v3'),
    /** Notion: an internal integration's token; share pages with the integration. */
    NOTION_TOKEN: optionalString,
    NOTION_API_URL: optionalUrl("Notion's API, https://api.notion.com"),
    /**
     * Confluence Cloud: the site (or, for a scoped API token, Atlassian's gateway
     * https://api.atlassian.com/ex/confluence/<cloud id>), an account's email and an API token.
     */
    CONFLUENCE_URL: optionalUrl(
      'your Confluence site, e.g. https://acme.atlassian.net (or …/wiki), or https://api.atlassian.com/ex/confluence/<cloud id> for a scoped token',
    ),
    /** With the gateway form of CONFLUENCE_URL: the site whose page links are added. */
    CONFLUENCE_SITE: optionalUrl('your Confluence site, e.g. https://acme.atlassian.net'),
    CONFLUENCE_EMAIL: optionalString,
    CONFLUENCE_TOKEN: optionalString,
  },
  secrets: ['GIT_TOKEN', 'GIT_HOST_TOKENS', 'GITHUB_TOKEN', 'NOTION_TOKEN', 'CONFLUENCE_TOKEN'],
  problems: (set) => {
    // GIT_TOKEN once went to every host, so to any a user named in /kb add: now it names its hosts.
    const gitToken =
      set('GIT_TOKEN') && !set('GIT_TOKEN_HOSTS')
        ? [
            'GIT_TOKEN is sent only to the hosts in GIT_TOKEN_HOSTS: set GIT_TOKEN_HOSTS to its Git hosts (e.g. github.com,gitlab.example.com), or give each host its token in GIT_HOST_TOKENS',
          ]
        : [];
    const confluence = ['CONFLUENCE_URL', 'CONFLUENCE_EMAIL', 'CONFLUENCE_TOKEN'];
    const missing = confluence.filter((name) => !set(name));
    return missing.length > 0 && missing.length < confluence.length
      ? [
          ...gitToken,
          `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} required with ${confluence.filter(set).join(' and ')} (Confluence needs the site, an account's email and its API token)`,
        ]
      : gitToken;
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
        allowHosts: env.CRAWL_ALLOW_HOSTS,
        syncTimeoutMs: env.CRAWL_SYNC_TIMEOUT_MS,
      },
      // Only what is set: the rest of the configuration never carries an empty secret.
      sources: Object.fromEntries(
        Object.entries({
          GIT_TOKEN: env.GIT_TOKEN,
          GIT_HOST_TOKENS: env.GIT_HOST_TOKENS,
          GIT_TOKEN_HOSTS: env.GIT_TOKEN_HOSTS,
          GIT_MEMORY_MB: String(env.GIT_MEMORY_MB),
          GITHUB_TOKEN: env.GITHUB_TOKEN,
          GITHUB_API_URL: env.GITHUB_API_URL,
          NOTION_TOKEN: env.NOTION_TOKEN,
          NOTION_API_URL: env.NOTION_API_URL,
          CONFLUENCE_URL: env.CONFLUENCE_URL,
          CONFLUENCE_SITE: env.CONFLUENCE_SITE,
          CONFLUENCE_EMAIL: env.CONFLUENCE_EMAIL,
          CONFLUENCE_TOKEN: env.CONFLUENCE_TOKEN,
        }).filter(([, value]) => value !== undefined),
      ),
      maxSourcesPerTenant: env.KB_MAX_SOURCES,
      credentialedTenants: env.KB_CREDENTIALED_TENANTS,
    },
  }),
});
