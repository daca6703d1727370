/**
 * The knowledge, managed: which collections a place reads, the sources and their syncs,
 * and threads saved as knowledge. One service for every front end: the Slack and Discord
 * `/kb` handlers, the save-thread shortcut and context command, the sync schedule and
 * `npm run ingest` all go through it. Settings live in the bot's own database
 * (`RAG_DATA_DIR/app.db`), opened on first use.
 */
import { isIP } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { strings } from '../conversation/strings.js';
import { type CollectionStore, DEFAULT_COLLECTION, type Place } from '../core/types.js';
import type { CrawlOptions } from '../ingest/crawl.js';
import { CrawlError } from '../ingest/crawl.js';
import { TooLargeError } from '../ingest/files.js';
import { type Logger, silentLogger } from '../log.js';
import type { AppDatabase } from '../state/app-db.js';
import {
  type AllowedHost,
  allowedAddresses,
  allowedHosts,
  isPrivateHost,
  publicOnly,
  publicOnlyFetch,
  type Resolver,
} from './address-guard.js';
import { channelKey, placeKeys, type ResolvedRoute, RouteError, resolveRoute } from './collections.js';
import { readsWithOperatorCredentials } from './credentialed-sources.js';
import { kindNamed, recogniseSource, sourceKinds } from './kinds/index.js';
import type { Environment, SourceKind, SyncProgress } from './kinds/kind.js';
import { type LearningChannel, type LearningRepository, LearningStore } from './learn.js';
import { type RouteStore, sqliteRouteStore } from './routes-store.js';
import { type SavedThread, saveThreadAsKnowledge, type ThreadMessage } from './save-thread.js';
import type { KnowledgeConfig } from './settings.js';
import {
  type ClaimResult,
  type RoutedFor,
  type SourceRecord,
  SourceRegistry,
  type SourceRepository,
  sourceByUrl,
  sourceNumber,
} from './sources.js';
import { type SyncSummary, syncSource } from './sync.js';
import { type HeartbeatTimers, type SyncLocks, withLock } from './sync-lock.js';

export type KnowledgeSettings = KnowledgeConfig;

export interface KnowledgeServiceOptions {
  readonly store: CollectionStore;
  readonly appDatabase: () => AppDatabase;
  /** Where `/kb use` routes live; default: the bot's database. */
  readonly routes?: RouteStore;
  /**
   * Where the sources, their items' sync state, the collections' owners and the sync locks live;
   * default: the bot's database (PostgreSQL with DATABASE_URL, shared by every instance).
   */
  readonly sources?: SourceRepository;
  /** Where `/kb learn` channels and learned threads live; default: the bot's database. */
  readonly learning?: LearningRepository;
  readonly settings: KnowledgeSettings;
  readonly logger?: Logger;
  /** Crawl timing and transport, for tests (fetch, sleep, now, timeoutMs); every kind's sync uses them. */
  readonly crawl?: Omit<CrawlOptions, 'known' | 'onProgress'>;
  /** Where source kinds read their tokens (default: the configuration's `sources`). */
  readonly env?: Environment;
  /** Folder for source caches (a Git repository's objects); default: RAG_DATA_DIR/sources. */
  readonly cacheDir?: string;
  /** Names this process in the sync locks. */
  readonly instanceId?: string;
  /** Where the per-source sync locks live; default: the bot's database. */
  readonly locks?: SyncLocks;
  /** The lock renewals' timer (tests). */
  readonly lockTimers?: HeartbeatTimers;
  /** How host names resolve for chat-added sites (tests); default: the system resolver. */
  readonly resolve?: Resolver;
  /**
   * Platforms serving several workspaces or servers (Discord always; Slack installed by OAuth):
   * each of their tenants has its own collection, and chat writes stay within the tenant.
   */
  readonly tenantPlatforms?: ReadonlySet<string>;
}

/** A collection KNOWLEDGE_ROUTES routes beyond the tenant that took it from its chat. */
export interface RouteConflict {
  readonly collection: string;
  /** The workspace or server that claimed the name from its chat, if one did ("slack:T0123"). */
  readonly owner?: string;
  /** The KNOWLEDGE_ROUTES keys that route it. */
  readonly routedTo: readonly string[];
  /** Sources tenants added to it from their chats: no longer synced. */
  readonly sources: readonly SourceRecord[];
}

export interface KnowledgeStatus {
  readonly collections: ReadonlyMap<string, number>;
  readonly sources: readonly SourceRecord[];
}

/**
 * How long a source's sync lock lives unless renewed: a sync renews it every third of this while
 * it runs (however long that is, within its own time limit), so a process that died frees its
 * sources this soon, and the schedule's next check (every 15 s) takes the crawl over: within a
 * minute.
 */
export const SYNC_LOCK_TTL_MS = 45_000;

export class SyncBusyError extends Error {
  override name = 'SyncBusyError';
}

/** The most collections one `/kb use` may route a channel to: each is searched on every question. */
export const MAX_ROUTE_COLLECTIONS = 10;

/** The most collection names one workspace or server may take from its chat (`/kb use`, `/kb add`, saves). */
export const MAX_OWNED_COLLECTIONS = 50;

/** A collection another workspace or server filled from its chat: not this place's to use. */
export class NotYourCollectionError extends Error {
  override name = 'NotYourCollectionError';
}

export class KnowledgeService {
  private routesStore?: RouteStore;
  private registryStore?: SourceRepository;
  /** Channel routes already reported for naming collections their tenant may not read. */
  private readonly droppedRoutes = new Set<string>();
  private kindList?: readonly SourceKind[];
  private learningStore?: LearningRepository;
  private readonly log: Logger;
  private readonly instanceId: string;
  /** Syncs running in this process, by source id, so removing a source can cancel its sync. */
  private readonly running = new Map<number, { controller: AbortController; done: Promise<void> }>();
  /** Connections of chat-added sites: resolved once, refused when private (address-guard.ts). */
  private readonly publicFetch: ReturnType<typeof publicOnlyFetch>;
  /** CRAWL_ALLOW_HOSTS: intranet hosts chat-added sources may reach on private addresses. */
  private readonly allowedHost: AllowedHost;
  /** `publicFetch`, the CRAWL_ALLOW_HOSTS hosts excepted. */
  private readonly intranetFetch: ReturnType<typeof publicOnlyFetch>;

  constructor(private readonly options: KnowledgeServiceOptions) {
    this.log = (options.logger ?? silentLogger).child({ component: 'knowledge' });
    this.instanceId = options.instanceId ?? `${hostname()}:${process.pid}`;
    this.allowedHost = allowedHosts(options.settings.crawl.allowHosts);
    this.publicFetch = publicOnlyFetch(options.resolve);
    this.intranetFetch = publicOnlyFetch(options.resolve, this.allowedHost);
  }

  get settings(): KnowledgeSettings {
    return this.options.settings;
  }

  get store(): CollectionStore {
    return this.options.store;
  }

  private get routes(): RouteStore {
    this.routesStore ??= this.options.routes ?? sqliteRouteStore(this.options.appDatabase());
    return this.routesStore;
  }

  /** The source kinds this service reads (web sites, Git repositories, …). */
  get kinds(): readonly SourceKind[] {
    const crawl = this.options.settings.crawl;
    this.kindList ??= sourceKinds({
      maxPages: crawl.maxPages,
      maxDepth: crawl.maxDepth,
      concurrency: crawl.concurrency,
      delayMs: crawl.delayMs,
      budgetMs: crawl.syncTimeoutMs,
    });
    return this.kindList;
  }

  kindOf(source: SourceRecord): SourceKind | undefined {
    return kindNamed(this.kinds, source.kind);
  }

  private get env(): Environment {
    return this.options.env ?? this.options.settings.sources;
  }

  get registry(): SourceRepository {
    this.registryStore ??= this.options.sources ?? new SourceRegistry(this.options.appDatabase());
    return this.registryStore;
  }

  /**
   * Whether `platform` serves several tenants (workspaces or servers) from one bot: Discord
   * always, Slack when installed by OAuth in any workspace.
   */
  isMultiTenant(platform: string): boolean {
    return this.options.tenantPlatforms?.has(platform) ?? false;
  }

  /**
   * Whether this bot keeps tenants apart: as soon as one platform serves several workspaces or
   * servers, every workspace is a tenant, the single workspace of a `SLACK_BOT_TOKEN` install
   * included (its chat writes would otherwise land in `default`, which every server reads).
   */
  get separatesTenants(): boolean {
    return (this.options.tenantPlatforms?.size ?? 0) > 0;
  }

  /** The tenant of `place` when tenants are kept apart ("slack:T0123", "discord:8123…"), if it has one. */
  tenantOf(place: Place): string | undefined {
    if (!this.separatesTenants || !place.workspaceId) return undefined;
    return `${place.platform}:${place.workspaceId}`;
  }

  /**
   * The key a channel's own settings from the chat (`/kb use`, `/kb learn`) are kept under: the
   * channel, and where tenants are kept apart its workspace too, since a channel shared between
   * two organisations (Slack Connect) has one id in both: neither may change the other's.
   */
  private chatKey(place: Place): string | undefined {
    const key = channelKey(place);
    if (!key) return undefined;
    return this.tenantOf(place) ? `${place.workspaceId}/${key}` : key;
  }

  /**
   * The route that applies to `place` (see collections.ts for precedence). Where tenants are
   * kept apart, a place nothing routes reads its tenant's own collection first, then the
   * operator's shared `default`; and a channel's `/kb use` route reads only collections the
   * tenant may use now (a route set before a collection became another tenant's, or before
   * these rules, reads nothing of it).
   */
  async route(place: Place): Promise<ResolvedRoute> {
    const scoped = this.chatKey(place);
    const keys = [...new Set([...(scoped ? [scoped] : []), ...placeKeys(place)])];
    let route = resolveRoute(place, await this.routes.lookup(keys), this.options.settings.routes, keys);
    const tenant = this.tenantOf(place);
    if (!tenant) return route;
    if (route.origin === 'chat') {
      const allowed = await this.mayUseAll(place, route.collections);
      const usable = route.collections.filter((_, i) => allowed[i]);
      if (usable.length === route.collections.length) return route;
      const dropped = route.collections.filter((collection) => !usable.includes(collection));
      const said = `${route.key}:${dropped.join(',')}`;
      // Said once per route, not on every question asked there.
      if (!this.droppedRoutes.has(said)) {
        this.droppedRoutes.add(said);
        this.log.warn(
          { place: route.key, dropped },
          'a channel route names collections its workspace or server may not read; they are left out',
        );
      }
      if (usable.length > 0) return { ...route, collections: usable };
      route = resolveRoute(place, new Map(), this.options.settings.routes);
    }
    if (route.origin !== 'default') return route;
    return { ...route, collections: [tenantCollection(tenant), DEFAULT_COLLECTION] };
  }

  async collectionsFor(place: Place): Promise<readonly string[]> {
    return (await this.route(place)).collections;
  }

  /** The workspace or server `place` belongs to, as collection owners are recorded. */
  ownerKey(place: Place): string {
    return `${place.platform}:${place.workspaceId ?? place.channelId ?? ''}`;
  }

  /** KNOWLEDGE_ROUTES keys that route `collection`. */
  private routedTo(collection: string): string[] {
    return [...this.options.settings.routes]
      .filter(([, collections]) => collections.includes(collection))
      .map(([key]) => key);
  }

  /**
   * Whether `place`'s admins may see and use `collection`: `default`; their own (a collection a
   * workspace or server filled from its chat belongs to it, and each tenant's own collection is
   * its alone); and the operator's collections — those named in KNOWLEDGE_ROUTES only for the
   * places routed to them (so one tenant's admin cannot `/kb use` another tenant's collection,
   * list its sources or claim its name). The operator's unrouted collections (`npm run ingest
   * --collection hr`) are for everyone only where tenants are not kept apart; where they are,
   * a tenant reads one only where KNOWLEDGE_ROUTES routes it to that tenant.
   */
  async mayUse(place: Place, collection: string): Promise<boolean> {
    return (await this.mayUseAll(place, [collection]))[0]!;
  }

  /** `mayUse` of each of `collections`, their owners read in one query (a route is read per question). */
  async mayUseAll(place: Place, collections: readonly string[]): Promise<boolean[]> {
    const owners = await this.registry.ownersOf(
      collections.filter(
        (name) =>
          name !== DEFAULT_COLLECTION && !isTenantCollection(name) && this.routedTo(name).length === 0,
      ),
    );
    return collections.map((collection) => this.mayUseOwned(place, collection, owners.get(collection)));
  }

  private mayUseOwned(place: Place, collection: string, owner: string | undefined): boolean {
    if (collection === DEFAULT_COLLECTION) return true;
    if (isTenantCollection(collection)) {
      const tenant = this.tenantOf(place);
      return tenant !== undefined && tenantCollection(tenant) === collection;
    }
    // The operator's routes win over a chat's claim: a name a tenant took first and the
    // operator later routes (its own `hr`, ingested on the server) is read where it is routed.
    const routedTo = this.routedTo(collection);
    if (routedTo.length > 0) {
      const keys = placeKeys(place);
      return routedTo.some((key) => keys.includes(key));
    }
    if (owner !== undefined) return owner === this.ownerKey(place);
    return !this.separatesTenants;
  }

  /**
   * What KNOWLEDGE_ROUTES says of a chat write from `place` into `collection`, before any owner
   * is asked: nothing where it does not route it; `writer` where every key routing it is the
   * place's own workspace or channel; `elsewhere` where it routes it to any other place too (a
   * platform, `*`, another workspace or channel), whose readers the write would reach.
   */
  private routedFor(place: Place, collection: string): RoutedFor | undefined {
    const keys = this.routedTo(collection);
    if (keys.length === 0) return undefined;
    const own = [place.workspaceId, channelKey(place)].filter(Boolean);
    return keys.every((key) => own.includes(key)) ? 'writer' : 'elsewhere';
  }

  /**
   * Whether `place` may add, from the chat, a source read with the operator's credentials
   * (GITHUB_TOKEN, a Git host's token, NOTION_TOKEN, Confluence's): always where tenants are
   * not kept apart (one organisation); where they are, only the workspaces and servers
   * KB_CREDENTIALED_TENANTS names, since any tenant's admin could otherwise read what those
   * tokens reach (a private repository, the operator's Confluence space) into its collection.
   */
  private mayUseOperatorCredentials(place: Place): boolean {
    if (!this.separatesTenants) return true;
    return this.credentialedWorkspace(place.workspaceId);
  }

  private credentialedWorkspace(workspaceId: string | undefined): boolean {
    const allowed = this.options.settings.credentialedTenants;
    return allowed.includes('*') || (workspaceId !== undefined && allowed.includes(workspaceId));
  }

  /**
   * Why a tenant's source may not be synced with the operator's credentials now, if so: the
   * rule is checked at every sync, not only when the source was added (a token set for its
   * host later, a tenant taken off KB_CREDENTIALED_TENANTS).
   */
  private credentialsRefused(source: SourceRecord, kind: SourceKind): string | undefined {
    if (!this.separatesTenants || !source.tenant) return undefined;
    const workspaceId = source.tenant.slice(source.tenant.indexOf(':') + 1);
    if (this.credentialedWorkspace(workspaceId)) return undefined;
    let url: URL;
    try {
      url = new URL(source.url);
    } catch {
      return undefined;
    }
    return readsWithOperatorCredentials(kind.name, url, this.env)
      ? `${url.host} would be read with the bot's own credentials for ${kind.name}, which this workspace or server may not use (KB_CREDENTIALED_TENANTS)`
      : undefined;
  }

  /**
   * Where tenants are kept apart, whether `tenant` may take `collection` as its own: a name no
   * one uses yet (no owner, no source, nothing stored, routed nowhere, not `default` and not
   * shaped like another tenant's own collection).
   */
  private claimable(tenant: string, collection: string, isNew: boolean, inStore: boolean): boolean {
    if (collection === tenantCollection(tenant)) return true;
    return (
      isNew &&
      !inStore &&
      collection !== DEFAULT_COLLECTION &&
      !isTenantCollection(collection) &&
      this.routedTo(collection).length === 0
    );
  }

  /**
   * How a chat write from `place` may take `collection` (see `SourceRegistry.claimCollection`):
   * where tenants are kept apart, the operator's routes (`routed`) decide before the owner, and
   * a tenant takes at most MAX_OWNED_COLLECTIONS names.
   */
  private async claimDecision(place: Place, collection: string, inStore: boolean) {
    const tenant = this.tenantOf(place);
    // Read before the claim's transaction, whose decision is synchronous.
    const writable = tenant ? await this.writableByTenant(place, tenant, collection) : false;
    const routed =
      tenant && collection !== tenantCollection(tenant) ? this.routedFor(place, collection) : undefined;
    return {
      decide: (isNew: boolean): boolean | 'shared' => {
        if (tenant) {
          if (collection === tenantCollection(tenant)) return true;
          if (writable) return 'shared';
          return this.claimable(tenant, collection, isNew, inStore);
        }
        if (collection === DEFAULT_COLLECTION) return 'shared';
        return isNew && !inStore ? true : 'shared';
      },
      ...(routed ? { routed } : {}),
      ...(tenant ? { maxOwned: MAX_OWNED_COLLECTIONS } : {}),
    };
  }

  /** The error a refused claim of `collection` is told with. */
  private claimRefused(result: Exclude<ClaimResult, 'ok'>, collection: string): NotYourCollectionError {
    return new NotYourCollectionError(
      result === 'owned'
        ? `the collection \`${collection}\` belongs to another workspace or server`
        : result === 'names'
          ? strings.kb.tooManyCollections(MAX_OWNED_COLLECTIONS)
          : strings.kb.sharedCollection(collection),
    );
  }

  /**
   * A chat write from `place` into `collection` (a saved thread): refused where another tenant
   * reads it, and otherwise the collection becomes the writer's when no one had it yet, in one
   * transaction, so no other tenant can `/kb use` a collection it was never given.
   */
  private async claimForWrite(place: Place, collection: string): Promise<void> {
    if (this.separatesTenants && !this.tenantOf(place)) throw new NotYourCollectionError(strings.kb.noTenant);
    const inStore = (await this.store.collections()).has(collection);
    const result = await this.registry.claimCollection({
      collection,
      owner: this.tenantOf(place) ?? this.ownerKey(place),
      ...(await this.claimDecision(place, collection, inStore)),
    });
    if (result !== 'ok') throw this.claimRefused(result, collection);
  }

  /**
   * Whether a chat write from `place` may land in `collection` in multi-workspace mode: only
   * where no other tenant reads it. The tenant's own collection, one the operator routes to
   * this workspace or channel alone, or one it claimed that the operator routes nowhere; never
   * `default` or a collection routed more widely (a platform, `*`, other places), whoever
   * claimed its name first: the routes are asked before the owner.
   */
  private async writableByTenant(place: Place, tenant: string, collection: string): Promise<boolean> {
    if (collection === tenantCollection(tenant)) return true;
    if (collection === DEFAULT_COLLECTION || isTenantCollection(collection)) return false;
    const routed = this.routedFor(place, collection);
    if (routed) return routed === 'writer';
    return (await this.registry.ownerOf(collection)) === tenant;
  }

  /**
   * Where chat writes (`/kb add` without a collection, saved threads) go: the place's first
   * collection. Where the operator scopes knowledge per place (KNOWLEDGE_ROUTES is set) and
   * nothing routes this place, that would be `default`, which every place reads: refused, so
   * a private thread is never published to every tenant by accident. In multi-workspace mode
   * they go to the tenant's own collection, or to the channel's first collection when no other
   * tenant reads it.
   */
  async writeCollection(place: Place): Promise<string> {
    const route = await this.route(place);
    if (this.separatesTenants) {
      const tenant = this.tenantOf(place);
      if (!tenant) throw new NotYourCollectionError(strings.kb.noTenant);
      const first = route.collections[0]!;
      if (await this.writableByTenant(place, tenant, first)) return first;
      const inStore = (await this.store.collections()).has(first);
      const isNew = !(await this.sources()).some((source) => source.collection === first);
      if (
        (await this.registry.ownerOf(first)) === undefined &&
        this.claimable(tenant, first, isNew, inStore)
      ) {
        return first;
      }
      throw new NotYourCollectionError(strings.kb.channelReadsShared(first, tenantCollection(tenant)));
    }
    if (route.origin === 'default' && this.options.settings.routes.size > 0) {
      throw new NotYourCollectionError(
        'this channel reads the shared `default` collection; choose one for it first with `/kb use <collection>`',
      );
    }
    return route.collections[0]!;
  }

  private async checkMayUse(place: Place, collections: readonly string[]): Promise<void> {
    const allowed = await this.mayUseAll(place, collections);
    const foreign = collections.find((_, i) => !allowed[i]);
    if (foreign !== undefined) {
      throw new NotYourCollectionError(
        `the collection \`${foreign}\` belongs to another workspace or server`,
      );
    }
  }

  /**
   * The sources `place`'s admins may see and manage. In multi-workspace mode, those its tenant
   * added (a source added to a shared collection before tenants had their own is no tenant's).
   */
  async sourcesFor(place: Place): Promise<SourceRecord[]> {
    const sources = await this.sources();
    const managed = await this.manageable(place, sources);
    return sources.filter((_, i) => managed[i]);
  }

  /** Whether `place`'s admins may see, sync and remove `source`. */
  async mayManage(place: Place, source: SourceRecord): Promise<boolean> {
    return (await this.manageable(place, [source]))[0]!;
  }

  /**
   * `mayManage` of each of `sources`, the owners read once. A place manages only sources of
   * collections it may use now (so the operator's later routes take management away with
   * reading); where tenants are kept apart, only those its tenant added from its chat (one from
   * before tenants were recorded: its collection's owner's). The operator's own sources (`npm
   * run ingest`) are no tenant's, whoever claimed their collection's name.
   */
  private async manageable(place: Place, sources: readonly SourceRecord[]): Promise<boolean[]> {
    const collections = [...new Set(sources.map((source) => source.collection))];
    const usable = new Map(
      (await this.mayUseAll(place, collections)).map((allowed, i) => [collections[i]!, allowed]),
    );
    if (!this.separatesTenants) return sources.map((source) => usable.get(source.collection) ?? false);
    const tenant = this.tenantOf(place);
    if (!tenant) return sources.map(() => false);
    const owners = await this.registry.ownersOf(
      sources
        .filter((source) => !source.tenant && source.addedBy !== 'cli')
        .map((source) => source.collection),
    );
    return sources.map(
      (source) =>
        (usable.get(source.collection) ?? false) &&
        (source.tenant ?? (source.addedBy === 'cli' ? undefined : owners.get(source.collection))) === tenant,
    );
  }

  /**
   * The source `reference` (its number, `#3`, or its URL) names among those `place` manages:
   * another tenant's source of the same URL neither hides this place's own nor is revealed.
   */
  async findSourceFor(place: Place, reference: string): Promise<SourceRecord | undefined> {
    const id = sourceNumber(reference);
    if (id !== undefined) {
      const source = await this.registry.get(id);
      return source && (await this.mayManage(place, source)) ? source : undefined;
    }
    return sourceByUrl(await this.sourcesFor(place), reference);
  }

  /**
   * `/kb use`: routes the channel of `place` to `collections`; returns the key it set. Where
   * tenants are kept apart, a name no one uses yet becomes this tenant's as it is routed, so
   * no other tenant can route to it and read what this one later writes there.
   */
  async use(place: Place, collections: readonly string[], by: string): Promise<string | undefined> {
    const key = this.chatKey(place);
    if (!key) return undefined;
    if (collections.length > MAX_ROUTE_COLLECTIONS) {
      throw new RouteError(strings.kb.tooManyRouted(MAX_ROUTE_COLLECTIONS));
    }
    const tenant = this.tenantOf(place);
    if (tenant) {
      const stored = await this.store.collections();
      const usable = await this.mayUseAll(place, collections);
      const owners = await this.registry.ownersOf(collections);
      for (const [i, collection] of collections.entries()) {
        if (usable[i] || owners.has(collection)) continue;
        const result = await this.registry.claimCollection({
          collection,
          owner: tenant,
          decide: (isNew) => this.claimable(tenant, collection, isNew, stored.has(collection)),
          maxOwned: MAX_OWNED_COLLECTIONS,
        });
        if (result === 'names') throw this.claimRefused(result, collection);
      }
    }
    await this.checkMayUse(place, collections);
    await this.routes.set(key, collections, by);
    this.log.info({ place: key, collections, by }, 'channel collections set from the chat');
    return key;
  }

  /** Removes the channel's own route; true when there was one. */
  async resetUse(place: Place): Promise<boolean> {
    const key = this.chatKey(place);
    return key ? this.routes.clear(key) : false;
  }

  /** Registers the source `url` names, read by the first kind that recognises it. */
  addSource(
    url: string,
    collection: string,
    by: string,
  ): Promise<{ source: SourceRecord; created: boolean }> {
    const recognised = recogniseSource(this.kinds, url, this.env);
    return this.registry.add(recognised.url, collection, by, recognised.kind.name);
  }

  /**
   * `addSource` for the chat: a site on a loopback, private or link-local address is refused
   * unless CRAWL_ALLOW_HOSTS names its host or CRAWL_ALLOW_PRIVATE allows it (see
   * address-guard.ts). A new collection becomes this
   * workspace's or server's, in one transaction with adding the source, so two of them racing
   * for one name cannot both get it; an existing one (the operator's) stays shared, except that
   * in multi-workspace mode no chat writes into a collection another tenant reads.
   */
  async addSourceFromChat(
    place: Place,
    url: string,
    collection: string,
    by: string,
  ): Promise<{ source: SourceRecord; created: boolean }> {
    // Where tenants are kept apart, the claim below decides (a new name becomes this tenant's).
    if (!this.separatesTenants) await this.checkMayUse(place, [collection]);
    const recognised = recogniseSource(this.kinds, url, this.env);
    const checked = new URL(recognised.url);
    if (
      readsWithOperatorCredentials(recognised.kind.name, checked, this.env) &&
      !this.mayUseOperatorCredentials(place)
    ) {
      throw new NotYourCollectionError(
        `${checked.host} would be read with the bot's own credentials for ${recognised.kind.name}, which only the workspaces and servers the operator names in KB_CREDENTIALED_TENANTS may use from the chat; ask the operator, or add a public source`,
      );
    }
    // An intranet host the operator names is the operator's: like its credentials, it is for the
    // workspaces and servers KB_CREDENTIALED_TENANTS names when tenants are kept apart.
    const allowedHost = this.allowedHost(checked.hostname) && this.mayUseOperatorCredentials(place);
    if (!this.options.settings.crawl.allowPrivate) {
      if (allowedHost) await allowedAddresses(checked.hostname, this.options.resolve);
      else if (await isPrivateHost(checked.hostname, this.options.resolve)) {
        const named = isIP(checked.hostname.replace(/^\[|\]$/g, '')) === 0;
        throw new CrawlError(
          `${checked.host} is a private or local address, or does not resolve; only public sites can be added from the chat (${named ? `the operator can allow this host with CRAWL_ALLOW_HOSTS=${checked.hostname}, ` : ''}or run npm run ingest on the server)`,
        );
      }
    }
    const inStore = (await this.store.collections()).has(collection);
    const tenant = this.tenantOf(place);
    if (this.separatesTenants && !tenant) throw new NotYourCollectionError(strings.kb.noTenant);
    const result = await this.registry.addClaiming({
      url: recognised.url,
      kind: recognised.kind.name,
      collection,
      addedBy: by,
      owner: tenant ?? this.ownerKey(place),
      ...(tenant ? { tenant } : {}),
      ...(await this.claimDecision(place, collection, inStore)),
      maxSources: this.options.settings.maxSourcesPerTenant,
    });
    if ('refused' in result) {
      throw result.refused === 'limit'
        ? new NotYourCollectionError(strings.kb.tooManySources(this.options.settings.maxSourcesPerTenant))
        : this.claimRefused(result.refused, collection);
    }
    return result.source.tenant || !tenant ? result : { ...result, source: { ...result.source, tenant } };
  }

  /**
   * Collections the operator's KNOWLEDGE_ROUTES give to other places than the tenant that took
   * them from its chat (a name claimed first, sources added before the route): the routes win,
   * so that tenant no longer reads, writes or manages them, and its sources there stop syncing.
   * Said at start-up, so the operator can remove those sources or route another name.
   */
  async routeConflicts(): Promise<RouteConflict[]> {
    if (!this.separatesTenants) return [];
    const routed = [...new Set([...this.options.settings.routes.values()].flat())];
    if (routed.length === 0) return [];
    const owners = await this.registry.ownersOf(routed);
    const sources = await this.sources();
    const known = knownTenantIds(sources, owners);
    const conflicts: RouteConflict[] = [];
    for (const collection of routed) {
      const owner = owners.get(collection);
      const stranded = sources.filter(
        (source) => source.collection === collection && this.stranded(source, owner, known),
      );
      if ((owner !== undefined && this.routedBeyond(owner, collection, true, known)) || stranded.length > 0) {
        conflicts.push({
          collection,
          ...(owner !== undefined ? { owner } : {}),
          routedTo: this.routedTo(collection),
          sources: stranded,
        });
      }
    }
    return conflicts;
  }

  /**
   * Whether KNOWLEDGE_ROUTES routes `collection` beyond `tenant`: to `*`, a platform, or another
   * workspace or server (a Slack team or enterprise id, or a tenant known here). Where the
   * tenant claimed the name (`claimed`), to any key but its own workspace: a channel key cannot
   * be told to be one of its channels, and the claim came before the operator's route.
   */
  private routedBeyond(tenant: string, collection: string, claimed: boolean, known: ReadonlySet<string>) {
    const workspace = tenant.slice(tenant.indexOf(':') + 1);
    return this.routedTo(collection).some(
      (key) =>
        key !== workspace &&
        (claimed || key === '*' || /^[a-z]+$/.test(key) || /^[TE][A-Z0-9]{2,}$/.test(key) || known.has(key)),
    );
  }

  /** Whether a tenant's chat source sits in a collection now routed beyond its tenant. */
  private stranded(source: SourceRecord, owner: string | undefined, known: ReadonlySet<string>): boolean {
    const tenant = source.tenant ?? (source.addedBy === 'cli' ? undefined : owner);
    return tenant !== undefined && this.routedBeyond(tenant, source.collection, owner !== undefined, known);
  }

  /** Why `source` is not synced, when its collection is now routed beyond its tenant. */
  private async strandedReason(source: SourceRecord): Promise<string | undefined> {
    if (!this.separatesTenants || this.routedTo(source.collection).length === 0) return undefined;
    if (!source.tenant && source.addedBy === 'cli') return undefined;
    const owners = await this.registry.ownersOf([source.collection]);
    const known = knownTenantIds(await this.sources(), owners);
    if (!this.stranded(source, owners.get(source.collection), known)) return undefined;
    return `the operator routes \`${source.collection}\` to other places (KNOWLEDGE_ROUTES), so this workspace's or server's source there is no longer synced`;
  }

  /**
   * Where tenants are kept apart, the workspace or server that claimed `collection` from its
   * chat, and whether KNOWLEDGE_ROUTES routes it (then the routes win and that tenant no longer
   * reads it): what `npm run ingest --collection` checks before writing the operator's documents.
   */
  async chatClaim(collection: string): Promise<{ owner: string; routed: boolean } | undefined> {
    if (!this.separatesTenants) return undefined;
    const owner = await this.registry.ownerOf(collection);
    return owner === undefined ? undefined : { owner, routed: this.routedTo(collection).length > 0 };
  }

  /**
   * Sources added from a chat into a collection shared by every tenant, before multi-workspace
   * mode gave each tenant its own: no tenant manages them, and every tenant reads them.
   */
  async sharedChatSources(): Promise<SourceRecord[]> {
    if (!this.separatesTenants) return [];
    const sources = (await this.sources()).filter((source) => source.addedBy !== 'cli');
    const owners = await this.registry.ownersOf(sources.map((source) => source.collection));
    return sources.filter((source) => (source.tenant ?? owners.get(source.collection)) === undefined);
  }

  sources(): Promise<SourceRecord[]> {
    return this.registry.list();
  }

  findSource(reference: string): Promise<SourceRecord | undefined> {
    return this.registry.resolve(reference);
  }

  private get cacheDir(): string {
    return this.options.cacheDir ?? join(tmpdir(), 'rag-chat-bot-sources');
  }

  /**
   * Removes a source, every chunk of its items, and whatever its kind cached. A sync of it
   * running in this process is cancelled and waited for first; one running in another process
   * stops at its next write and undoes it (sync.ts). Chunks go before the registry rows, so a
   * store that fails midway leaves the source listed for another try; items written between
   * the two steps go too.
   */
  async removeSource(source: SourceRecord): Promise<number> {
    const running = this.running.get(source.id);
    if (running) {
      running.controller.abort();
      await running.done;
    }
    const target = this.store.collection(source.collection);
    // Passages an item of another source of the collection still holds stay (sync.ts).
    const release = async (ids: readonly string[]) => {
      const held = await this.registry.heldByOthers(source.collection, source.id, ids);
      const gone = ids.filter((id) => !held.has(id));
      if (gone.length > 0) await target.delete(gone);
    };
    const before = (await this.registry.pages(source.id)).flatMap((page) => page.chunkIds);
    await release(before);
    const pages = await this.registry.remove(source.id);
    const deleted = new Set(before);
    await release(pages.flatMap((page) => page.chunkIds).filter((id) => !deleted.has(id)));
    await this.kindOf(source)
      ?.forget?.(source, this.cacheDir)
      .catch((error: unknown) =>
        this.log.warn({ err: error, source: source.url }, 'could not delete a source cache'),
      );
    this.log.info({ source: source.url, kind: source.kind, items: pages.length }, 'removed a source');
    return pages.length;
  }

  async status(): Promise<KnowledgeStatus> {
    return { collections: await this.store.collections(), sources: await this.sources() };
  }

  /**
   * Syncs `sources` (every source when omitted), one after another. Each source is locked while
   * its sync runs, across every process on this database (the lock renewed as long as it runs),
   * so one workspace's long sync holds up no other source: a source another sync has is
   * skipped, its summary's error `SYNC_BUSY`. Throws `SyncBusyError` when every source was.
   */
  async sync(
    chosen?: readonly SourceRecord[],
    onProgress?: (source: SourceRecord, progress: SyncProgress) => void,
  ): Promise<SyncSummary[]> {
    const sources = chosen ?? (await this.sources());
    const summaries: SyncSummary[] = [];
    let ran = 0;
    for (const source of sources) {
      const kind = this.kindOf(source);
      if (!kind) {
        summaries.push(unknownKind(source));
        ran += 1;
        continue;
      }
      const summary = this.running.has(source.id)
        ? undefined
        : await withLock(
            this.locks,
            this.lockOf(source),
            (lost) => this.syncOne(source, kind, lost, onProgress),
            this.options.lockTimers,
          );
      if (summary) ran += 1;
      summaries.push(summary ?? busy(source));
    }
    if (ran === 0 && sources.length > 0) {
      throw new SyncBusyError('a sync of these sources is already running');
    }
    return summaries;
  }

  /**
   * The schedule's check: syncs each source never synced or last synced `intervalMs` ago or more
   * (by the repository's clock), that no sync here or in another process has now. The source
   * is looked at again once locked, so a source another instance has just synced is not synced
   * twice: across every process and host sharing the sources, each is synced once per interval,
   * and a crawl whose process died is taken over once its lock has lapsed. Returns what this
   * process synced.
   */
  async syncDue(intervalMs: number): Promise<SyncSummary[]> {
    const summaries: SyncSummary[] = [];
    for (const source of await this.registry.dueSources(intervalMs)) {
      const kind = this.kindOf(source);
      if (!kind || this.running.has(source.id)) continue;
      const summary = await withLock(
        this.locks,
        this.lockOf(source),
        async (lost) =>
          (await this.registry.isDue(source.id, intervalMs)) ? this.syncOne(source, kind, lost) : null,
        this.options.lockTimers,
      );
      if (summary) summaries.push(summary);
    }
    return summaries;
  }

  private lockOf(source: SourceRecord) {
    return {
      name: `source-sync:${source.id}:${source.addedAt}`,
      holder: this.instanceId,
      ttlMs: SYNC_LOCK_TTL_MS,
    };
  }

  private get locks(): SyncLocks {
    return this.options.locks ?? this.registry;
  }

  private async syncOne(
    source: SourceRecord,
    kind: SourceKind,
    lost: AbortSignal,
    onProgress?: (source: SourceRecord, progress: SyncProgress) => void,
  ): Promise<SyncSummary> {
    const stranded = await this.strandedReason(source);
    if (stranded) {
      await this.registry.recordSync(source.id, { status: 'failed', error: stranded, failures: 0 });
      this.log.warn(
        { source: source.url, collection: source.collection, tenant: source.tenant },
        'not syncing a tenant source whose collection KNOWLEDGE_ROUTES routes elsewhere',
      );
      return notSynced((await this.registry.get(source.id)) ?? source, stranded);
    }
    const refused = this.credentialsRefused(source, kind);
    if (refused) {
      await this.registry.recordSync(source.id, { status: 'failed', error: refused, failures: 0 });
      this.log.warn(
        { source: source.url, tenant: source.tenant },
        'a tenant source needs credentials it may not use',
      );
      return notSynced((await this.registry.get(source.id)) ?? source, refused);
    }
    // Removing the source cancels its sync (removeSource aborts it and waits for the end).
    const controller = new AbortController();
    const done = syncSource(this.store, this.registry, source, {
      kind,
      crawl: {
        ...this.crawlSettings(source),
        ...this.options.crawl,
        signal: AbortSignal.any([controller.signal, lost]),
      },
      budgetMs: this.options.settings.crawl.syncTimeoutMs,
      env: this.env,
      cacheDir: this.cacheDir,
      logger: this.log,
      ...(onProgress ? { onProgress: (progress) => onProgress(source, progress) } : {}),
    });
    this.running.set(source.id, { controller, done: done.then(() => undefined) });
    try {
      return await done;
    } finally {
      this.running.delete(source.id);
    }
  }

  /** Cancels the syncs running in this process and waits for them (shutdown). */
  async stop(): Promise<void> {
    const running = [...this.running.values()];
    for (const { controller } of running) controller.abort();
    await Promise.all(running.map(({ done }) => done));
    await Promise.all([this.publicFetch.close(), this.intranetFetch.close()]);
  }

  /** Saves a thread to the place's collection (or `collection`), with its permalink as source. */
  async saveThread(input: {
    readonly place: Place;
    readonly permalink: string;
    readonly messages: readonly ThreadMessage[];
    readonly savedBy: string;
    readonly collection?: string;
    /** Messages of the thread the reader left out (MAX_SAVED_THREAD_MESSAGES). */
    readonly omitted?: number;
  }): Promise<SavedThread> {
    const collection = input.collection ?? (await this.writeCollection(input.place));
    await this.claimForWrite(input.place, collection);
    const saved = await saveThreadAsKnowledge(this.store, {
      collection,
      permalink: input.permalink,
      messages: input.messages,
      keepNames: this.options.settings.keepAuthorNames,
    });
    this.log.info(
      {
        collection,
        permalink: input.permalink,
        messages: saved.messages,
        omitted: input.omitted,
        by: input.savedBy,
      },
      'saved a thread as knowledge',
    );
    return input.omitted ? { ...saved, omitted: input.omitted } : saved;
  }

  private get learning(): LearningRepository {
    this.learningStore ??= this.options.learning ?? new LearningStore(this.options.appDatabase());
    return this.learningStore;
  }

  /**
   * `/kb learn`: the channel's resolved threads become knowledge in its collection (the one
   * chat writes go to). Public channels only: a private channel's threads must never become
   * knowledge another place reads. Returns the collection.
   */
  async startLearning(place: Place, by: string, isPublic: boolean): Promise<string> {
    const key = this.chatKey(place);
    if (!key || place.direct) throw new LearnRefusedError('`/kb learn` works in a channel');
    if (!isPublic) {
      throw new LearnRefusedError(
        'only public channels can learn from their threads: a private channel’s threads would become knowledge other places read',
      );
    }
    const collection = await this.writeCollection(place);
    await this.learning.enable(key, by);
    this.log.info({ place: key, collection, by }, 'learning from resolved threads');
    return collection;
  }

  /** `/kb learn off`; true when the channel was learning. Threads learned so far stay. */
  async stopLearning(place: Place): Promise<boolean> {
    const key = this.chatKey(place);
    return key ? this.learning.disable(key) : false;
  }

  /** Whether the channel of `place` learns from its resolved threads. */
  async learningIn(place: Place): Promise<LearningChannel | undefined> {
    const key = this.chatKey(place);
    return key ? this.learning.channel(key) : undefined;
  }

  /** Threads learned in the channel of `place`. */
  async learnedIn(place: Place): Promise<number> {
    const key = this.chatKey(place);
    return key ? this.learning.threadsIn(key) : 0;
  }

  /**
   * A thread marked resolved in a learning channel: saved like "Save to knowledge base" (names
   * left out, its link as source) and remembered with the collection it went to and `mark`
   * (who marked which message with what), so taking the last mark away removes it. Undefined
   * when the channel does not learn.
   */
  async learnThread(input: {
    readonly place: Place;
    readonly permalink: string;
    readonly messages: readonly ThreadMessage[];
    readonly by: string;
    readonly mark?: string;
  }): Promise<SavedThread | undefined> {
    const key = this.chatKey(input.place);
    if (!key || !(await this.learning.channel(key))) return undefined;
    const saved = await this.saveThread({
      place: input.place,
      permalink: input.permalink,
      messages: input.messages,
      savedBy: input.by,
    });
    if (saved.messages > 0) {
      await this.learning.recordThread(
        { permalink: input.permalink, channel: key, collection: saved.collection },
        input.mark,
      );
    }
    return saved;
  }

  /**
   * A mark taken away from a learned thread (`mark` as given to `learnThread`; none: every mark).
   * While another qualifying mark remains, the thread stays; once none does, its passages are
   * removed from every collection it was learned into. True when it was unlearned.
   */
  async unlearnThread(permalink: string, mark?: string): Promise<boolean> {
    const collections = await this.learning.threadCollections(permalink);
    if (collections.length === 0) return false;
    if (mark !== undefined && (await this.learning.unmark(permalink, mark)) > 0) {
      this.log.info({ permalink }, 'a learned thread keeps another mark: not forgotten');
      return false;
    }
    let passages = 0;
    for (const collection of collections) {
      const target = this.store.collection(collection);
      const ids = [...(await target.listIds())]
        .filter(([, source]) => source === permalink)
        .map(([id]) => id);
      if (ids.length > 0) await target.delete(ids);
      passages += ids.length;
    }
    await this.learning.forgetThread(permalink);
    this.log.info({ permalink, collections, passages }, 'forgot an un-marked thread');
    return true;
  }

  private crawlSettings(source: SourceRecord): Omit<CrawlOptions, 'known' | 'onProgress'> {
    const crawl = this.options.settings.crawl;
    // A site added from a chat stays public on every sync, not just when it was added.
    const fromChat = /^(slack|discord|web):/.test(source.addedBy);
    // The operator's intranet hosts, for the sources of the tenants that may use them (checked
    // at every sync, as credentials are: a tenant taken off KB_CREDENTIALED_TENANTS loses them).
    const mayReachIntranet =
      !this.separatesTenants ||
      (source.tenant !== undefined &&
        this.credentialedWorkspace(source.tenant.slice(source.tenant.indexOf(':') + 1)));
    return {
      maxPages: crawl.maxPages,
      maxDepth: crawl.maxDepth,
      concurrency: crawl.concurrency,
      delayMs: crawl.delayMs,
      timeoutMs: crawl.pageTimeoutMs,
      budgetMs: crawl.syncTimeoutMs,
      ...(fromChat && !crawl.allowPrivate
        ? mayReachIntranet
          ? { guard: publicOnly(this.allowedHost), fetch: this.intranetFetch.fetch }
          : { guard: publicOnly(), fetch: this.publicFetch.fetch }
        : {}),
    };
  }
}

/** A source's sync skipped because another sync (here or in another process) has it. */
export const SYNC_BUSY = 'busy';

/** A sync that read nothing, and why. */
function notSynced(source: SourceRecord, error: string): SyncSummary {
  return {
    source,
    pages: 0,
    added: 0,
    updated: 0,
    unchanged: 0,
    removed: 0,
    chunksUpserted: 0,
    chunksRemoved: 0,
    failed: [],
    error,
  };
}

const busy = (source: SourceRecord): SyncSummary => notSynced(source, SYNC_BUSY);

/** A tenant's own collection: `slack-t0123abcd`, `discord-81234…`. */
export function tenantCollection(tenant: string): string {
  const [platform = '', id = ''] = tenant.split(':');
  return `${platform}-${id.toLowerCase()}`.slice(0, 40);
}

/** The workspace and server ids of the tenants this bot knows: those with sources or names. */
function knownTenantIds(sources: readonly SourceRecord[], owners: ReadonlyMap<string, string>): Set<string> {
  const tenants = [...sources.map((source) => source.tenant), ...owners.values()];
  return new Set(
    tenants
      .filter((tenant): tenant is string => tenant !== undefined)
      .map((t) => t.slice(t.indexOf(':') + 1)),
  );
}

/** Names shaped like a tenant's own collection are that tenant's alone, in every mode. */
function isTenantCollection(name: string): boolean {
  return /^slack-t[0-9a-z]{4,}$/.test(name) || /^discord-\d{15,25}$/.test(name);
}

/** A source stored by a kind this version does not know (written by a newer one): left as it is. */
const unknownKind = (source: SourceRecord): SyncSummary =>
  notSynced(source, `this version of the bot cannot read ${source.kind} sources`);

/** `/kb learn` refused: a private channel, a direct message. */
export class LearnRefusedError extends Error {
  override name = 'LearnRefusedError';
}

/** "3 added, 1 updated, 12 unchanged, 1 removed, 2 failed" for people. */
export function describeSync(summary: SyncSummary, noun = 'page(s)'): string {
  const parts = [
    `${summary.added} ${noun} added`,
    `${summary.updated} updated`,
    `${summary.unchanged} unchanged`,
    `${summary.removed} removed`,
  ];
  if (summary.failed.length > 0) parts.push(`${summary.failed.length} failed`);
  if (summary.outOfTime) parts.push(strings.kb.syncOutOfTime);
  return parts.join(', ');
}

/** What the person who saved a thread is told: how many of its messages went where. */
export function savedMessage(saved: SavedThread): string {
  if (saved.messages === 0) return strings.save.nothing;
  return saved.omitted
    ? strings.save.savedPart(saved.collection, saved.messages, saved.messages + saved.omitted)
    : strings.save.saved(saved.collection, saved.messages);
}

/** What the person who asked to save a thread is told when it could not be saved. */
export function saveFailureMessage(error: unknown): string {
  if (error instanceof NotYourCollectionError) return strings.kb.problem(error.message);
  // Past the parse budgets (PARSE_MAX_CHARS, its time and memory): trying again will not help.
  if (error instanceof TooLargeError) return strings.save.tooLarge(error.message);
  return strings.save.failed;
}
