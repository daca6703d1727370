import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ConfigError, parseConfig } from '../../src/config.js';
import { isPrivateHost, publicAddresses } from '../../src/knowledge/address-guard.js';
import { parseRoutes, resolveRoute } from '../../src/knowledge/collections.js';
import { parseKbText } from '../../src/knowledge/commands.js';
import { sqliteRouteStore } from '../../src/knowledge/routes-store.js';
import { threadDocument } from '../../src/knowledge/save-thread.js';
import { startSyncSchedule, type Timers } from '../../src/knowledge/scheduler.js';
import { KnowledgeService, SyncBusyError } from '../../src/knowledge/service.js';
import { silentLogger } from '../../src/log.js';
import { openAppDatabase } from '../../src/state/app-db.js';
import { LocalStore } from '../../src/stores/local/index.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('routes: which collections a place reads', () => {
  const env = parseRoutes('C0123=hr,default;T0456=eng;web=public;*=default');

  it('parses KNOWLEDGE_ROUTES and reports a bad entry by what is wrong', () => {
    expect(env.get('C0123')).toEqual(['hr', 'default']);
    expect(() => parseRoutes('C0123')).toThrow(/must look like PLACE=collection/);
    expect(() => parseRoutes('C0123=Not OK!')).toThrow(/is not a collection name/);
  });

  it('lets the channel win over the workspace, and the workspace over everywhere', () => {
    const none = new Map<string, string[]>();
    expect(
      resolveRoute({ platform: 'slack', channelId: 'C0123', workspaceId: 'T0456' }, none, env).collections,
    ).toEqual(['hr', 'default']);
    expect(
      resolveRoute({ platform: 'slack', channelId: 'C0999', workspaceId: 'T0456' }, none, env).collections,
    ).toEqual(['eng']);
    expect(resolveRoute({ platform: 'web', channelId: 'tab-1' }, none, env).collections).toEqual(['public']);
    expect(resolveRoute({ platform: 'slack', channelId: 'C0999', workspaceId: 'T0999' }, none, env)).toEqual({
      collections: ['default'],
      key: '*',
      origin: 'environment',
    });
  });

  it('reads a thread by its channel, and an admin’s /kb use over the environment for that channel', () => {
    const chat = new Map([['C0123', ['handbook']]]);
    const thread = { platform: 'discord', channelId: 'T-thread', parentId: 'C0123', workspaceId: 'G1' };
    expect(resolveRoute(thread, new Map(), env).collections).toEqual(['hr', 'default']);
    expect(resolveRoute(thread, chat, env)).toMatchObject({ collections: ['handbook'], origin: 'chat' });
  });

  it('never lets a web chat tab borrow a channel’s route by naming itself after it', () => {
    const tab = { platform: 'web', channelId: 'C0123', direct: true };
    expect(resolveRoute(tab, new Map([['C0123', ['private']]]), env).collections).toEqual(['public']);
  });

  it('reads only the default collection where nothing is routed', () => {
    expect(resolveRoute({ platform: 'terminal' }, new Map(), new Map())).toEqual({
      collections: ['default'],
      origin: 'default',
    });
  });
});

describe('configuration of the knowledge features', () => {
  it('reads routes, admins, the sync interval and who may save threads', () => {
    const config = parseConfig({
      KNOWLEDGE_ROUTES: 'C0123=hr',
      SLACK_ADMIN_USERS: 'U1, U2',
      DISCORD_ADMIN_ROLE: 'KB Editors',
      SYNC_INTERVAL: '6h',
      SAVE_TO_KB: 'everyone',
    });
    expect(config.knowledge).toMatchObject({
      slackAdminUsers: ['U1', 'U2'],
      discordAdminRole: 'KB Editors',
      syncIntervalMs: 6 * 3_600_000,
      saveToKb: 'everyone',
      keepAuthorNames: false,
    });
    expect(config.knowledge.routes.get('C0123')).toEqual(['hr']);
    expect(parseConfig({}).knowledge.syncIntervalMs).toBeUndefined();
    expect(parseConfig({ SYNC_INTERVAL: 'off' }).knowledge.syncIntervalMs).toBeUndefined();
  });

  it('reports every bad knowledge variable at once', () => {
    try {
      parseConfig({ KNOWLEDGE_ROUTES: 'nonsense', SYNC_INTERVAL: '5 fortnights', SAVE_TO_KB: 'anyone' });
      expect.unreachable();
    } catch (error) {
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toContain('KNOWLEDGE_ROUTES');
      expect(problems).toContain('SYNC_INTERVAL');
      expect(problems).toContain('SAVE_TO_KB');
    }
  });
});

describe('/kb text as Slack sends it', () => {
  it('unwraps Slack’s link markup and reads collections', () => {
    expect(parseKbText('add <https://docs.example.com/|docs.example.com> eng')).toEqual({
      name: 'add',
      url: 'https://docs.example.com/',
      collection: 'eng',
    });
    expect(parseKbText('use hr, default')).toEqual({ name: 'use', collections: 'hr, default' });
    expect(parseKbText('')).toEqual({ name: 'help' });
    expect(parseKbText('frobnicate')).toEqual({ name: 'unknown', word: 'frobnicate' });
    // Settings as Slack sends them with escaping on: a user group and a channel as links.
    expect(parseKbText('settings')).toEqual({ name: 'settings', changes: [] });
    expect(parseKbText('settings handoff <!subteam^S0123|@support>')).toEqual({
      name: 'settings',
      changes: [{ setting: 'handoff', value: '!subteam^S0123' }],
    });
    expect(parseKbText('settings digest <#C0NEWS|news>')).toEqual({
      name: 'settings',
      changes: [{ setting: 'digest', value: '#C0NEWS' }],
    });
    expect(parseKbText('settings Digest off')).toEqual({
      name: 'settings',
      changes: [{ setting: 'digest', value: 'off' }],
    });
    expect(parseKbText('settings colour blue')).toEqual({
      name: 'settings',
      changes: [{ setting: 'unknown', word: 'colour' }],
    });
  });
});

describe('a thread as a document', () => {
  const thread = [
    { role: 'question' as const, text: 'How do I reset it? cc <@U0ALICE>', author: 'bob' },
    { role: 'human' as const, text: '# Step one\nHold the button, <@U0BOB>', author: 'alice' },
    { role: 'bot' as const, text: 'Hold the blue button [1].' },
  ];

  it('strips names and mentions by default, keeping every message in one section', () => {
    const document = threadDocument(thread, false);
    expect(document.title).toBe('Saved thread: How do I reset it? cc someone');
    expect(document.markdown).not.toMatch(/U0ALICE|U0BOB|alice|bob/);
    expect(document.markdown).toContain('**Answer from the team:** \\# Step one');
    expect(document.markdown).toContain('**Answer from the bot:** Hold the blue button');
  });

  it('keeps names when configured to', () => {
    expect(threadDocument(thread, true).markdown).toContain('**Answer from the team (alice):**');
  });
});

describe('the address guard on IPv6 forms that carry or reach an IPv4 address', () => {
  it('refuses 6to4 and NAT64 addresses of private IPv4 ones, local-use NAT64 and Teredo, whatever resolves to them', async () => {
    const refused = [
      '2002:7f00:1::',
      '2002:0a00:0001::1',
      '2002:c0a8:101::',
      '2002:a9fe:a9fe::',
      '2002:c058:6301::',
      '64:ff9b:1::a00:1',
      '64:ff9b:1:ffff::1',
      '64:ff9b::a00:1',
      '64:ff9b::127.0.0.1',
      '64:ff9b::a9fe:a9fe',
      '2001::1',
      '100::1',
    ];
    for (const address of refused) {
      expect(await isPrivateHost(address), address).toBe(true);
      const resolve = async () => [{ address, family: 6 }];
      await expect(publicAddresses('docs.example.com', resolve), address).rejects.toThrow(
        /private or local address/,
      );
    }
    // A 6to4 or well-known NAT64 address of a public IPv4 one is as public as that address.
    expect(await isPrivateHost('2002:808:808::1')).toBe(false);
    expect(await isPrivateHost('64:ff9b::808:808')).toBe(false);
    expect(
      await publicAddresses('docs.example.com', async () => [{ address: '64:ff9b::5db8:d822', family: 6 }]),
    ).toHaveLength(1);
  });
});

describe('sites added from the chat', () => {
  const place = { platform: 'slack', channelId: 'C1', workspaceId: 'T1' };

  it('must be public unless the operator allows private addresses', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rag-guard-'));
    dirs.push(dir);
    const store = await LocalStore.open({ dir });
    const app = openAppDatabase(dir);
    const settings = parseConfig({}).knowledge;
    const service = new KnowledgeService({ store, appDatabase: () => app, settings });
    for (const url of [
      'http://127.0.0.1:8080/',
      'http://169.254.169.254/latest/',
      'http://localhost/docs/',
      'http://[::1]/',
      'http://240.0.0.1/',
      'http://[::ffff:10.0.0.1]/',
      'http://[2002:7f00:1::]/',
      'http://[2002:a9fe:a9fe::1]/',
      'http://[64:ff9b:1::7f00:1]/',
      'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/',
    ]) {
      await expect(service.addSourceFromChat(place, url, 'docs', 'test')).rejects.toThrow(
        /private or local address/,
      );
    }
    expect(await service.sources()).toHaveLength(0);
    const open = new KnowledgeService({
      store,
      appDatabase: () => app,
      settings: parseConfig({ CRAWL_ALLOW_PRIVATE: 'true' }).knowledge,
    });
    await expect(
      open.addSourceFromChat(place, 'http://127.0.0.1:8080/', 'docs', 'test'),
    ).resolves.toMatchObject({
      created: true,
    });
    store.close();
    app.close();
  });
});

describe('collections filled from one workspace’s chat', () => {
  it('belong to it: another workspace can neither use them nor see their sources', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rag-owners-'));
    dirs.push(dir);
    const store = await LocalStore.open({ dir });
    const app = openAppDatabase(dir);
    const service = new KnowledgeService({
      store,
      appDatabase: () => app,
      settings: parseConfig({ CRAWL_ALLOW_PRIVATE: 'true' }).knowledge,
    });
    const mine = { platform: 'discord', channelId: 'C1', workspaceId: 'G1' };
    const theirs = { platform: 'discord', channelId: 'C2', workspaceId: 'G2' };
    await service.addSourceFromChat(mine, 'http://127.0.0.1:1/wiki/', 'g1-private', 'discord:U1');
    expect(await service.sourcesFor(mine)).toHaveLength(1);
    expect(await service.sourcesFor(theirs)).toHaveLength(0);
    await expect(service.use(theirs, ['g1-private'], 'discord:U2')).rejects.toThrow(/belongs to another/);
    await expect(
      service.addSourceFromChat(theirs, 'http://127.0.0.1:1/other/', 'g1-private', 'discord:U2'),
    ).rejects.toThrow(/belongs to another/);
    expect(await service.use(mine, ['g1-private'], 'discord:U1')).toBe('C1');
    // Adding to the operator's existing collection does not take it over.
    await store
      .collection('handbook')
      .upsert([{ id: 'h', text: 'Handbook text.', source: 'h.md', metadata: {} }]);
    await service.addSourceFromChat(mine, 'http://127.0.0.1:1/handbook/', 'handbook', 'discord:U1');
    expect(await service.mayUse(theirs, 'handbook')).toBe(true);
    // The operator's collections (npm run ingest, KNOWLEDGE_ROUTES) and default stay usable by all.
    expect(await service.use(theirs, ['default', 'handbook'], 'discord:U2')).toBe('C2');
    store.close();
    app.close();
  });
});

describe('collections the operator routes in KNOWLEDGE_ROUTES', () => {
  it('are usable only by the places routed to them; chat writes never land in the shared default', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rag-tenants-'));
    dirs.push(dir);
    const store = await LocalStore.open({ dir });
    const app = openAppDatabase(dir);
    const service = new KnowledgeService({
      store,
      appDatabase: () => app,
      settings: parseConfig({ KNOWLEDGE_ROUTES: 'T0456=acme;T0789=globex' }).knowledge,
    });
    const acme = { platform: 'slack', channelId: 'C1', workspaceId: 'T0456' };
    const globex = { platform: 'slack', channelId: 'C2', workspaceId: 'T0789' };
    const unrouted = { platform: 'slack', channelId: 'C3', workspaceId: 'T0999' };
    expect(await service.mayUse(acme, 'acme')).toBe(true);
    expect(await service.mayUse(globex, 'acme')).toBe(false);
    await expect(service.use(globex, ['acme'], 'slack:U2')).rejects.toThrow(/belongs to another/);
    // Nor can a tenant claim a name the operator routed elsewhere.
    await expect(
      service.addSourceFromChat(globex, 'https://docs.example.com/', 'acme', 'slack:U2'),
    ).rejects.toThrow(/belongs to another/);
    // The operator's unrouted collections stay shared, and default is everyone's.
    expect(await service.mayUse(globex, 'handbook')).toBe(true);
    expect(await service.mayUse(globex, 'default')).toBe(true);
    // A place nothing routes reads default, which every place reads: saving there is refused.
    await expect(
      service.saveThread({ place: unrouted, permalink: 'https://x/1', messages: [], savedBy: 'slack:U3' }),
    ).rejects.toThrow(/choose one for it first/);
    expect(await service.writeCollection(acme)).toBe('acme');
    store.close();
    app.close();
  });
});

describe('the sync schedule', () => {
  it('syncs what is due on each check, never two at once, and one process at a time across the database', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rag-schedule-'));
    dirs.push(dir);
    const store = await LocalStore.open({ dir });
    const app = openAppDatabase(dir);
    const settings = parseConfig({ RAG_DATA_DIR: dir }).knowledge;
    let fetches = 0;
    const fetch: typeof globalThis.fetch = async () => {
      fetches += 1;
      return new Response('<main><h1>Doc</h1><p>Words.</p></main>', {
        headers: { 'content-type': 'text/html' },
      });
    };
    const crawl = { fetch, sleep: async () => undefined, now: () => 0 };
    const service = new KnowledgeService({ store, appDatabase: () => app, settings, crawl, instanceId: 'a' });
    await service.addSource('http://docs.invalid/', 'docs', 'test');
    let tickHandler: (() => void) | undefined;
    const timers: Timers = {
      setInterval: (run) => {
        tickHandler = run;
        return {};
      },
      clearInterval: () => undefined,
    };
    const schedule = startSyncSchedule(service, 3_600_000, silentLogger, timers);
    expect(tickHandler).toBeDefined();
    const first = schedule.tick();
    expect(schedule.tick()).toBe(first); // a tick while one runs joins it
    await first;
    expect(fetches).toBeGreaterThan(0);
    expect((await service.sources())[0]).toMatchObject({ lastStatus: 'ok', pages: 1 });
    // Synced less than an interval ago: the next check leaves it, in this process or another.
    const after = fetches;
    await schedule.tick();
    await startSyncSchedule(
      new KnowledgeService({ store, appDatabase: () => app, settings, crawl, instanceId: 'c' }),
      3_600_000,
      silentLogger,
      timers,
    ).tick();
    expect(fetches).toBe(after);

    // Another process syncs this source: this one's sync of it is refused, not run twice.
    const other = new KnowledgeService({ store, appDatabase: () => app, settings, crawl, instanceId: 'b' });
    const [source] = await service.sources();
    const lock = `source-sync:${source!.id}:${source!.addedAt}`;
    expect(await other.registry.tryLock(lock, 'b', 60_000)).toBe(true);
    await expect(service.sync()).rejects.toBeInstanceOf(SyncBusyError);
    await other.registry.unlock(lock, 'b');
    await expect(service.sync()).resolves.toHaveLength(1);
    await schedule.stop();
    store.close();
    app.close();
  });
});

describe('multi-workspace mode (Slack by OAuth, Discord)', () => {
  async function tenants(env: Record<string, string> = {}) {
    const dir = await mkdtemp(join(tmpdir(), 'rag-tenants-'));
    dirs.push(dir);
    const store = await LocalStore.open({ dir });
    const app = openAppDatabase(dir);
    const service = new KnowledgeService({
      store,
      appDatabase: () => app,
      settings: parseConfig({ CRAWL_ALLOW_PRIVATE: 'true', ...env }).knowledge,
      tenantPlatforms: new Set(['slack', 'discord']),
    });
    const close = () => {
      store.close();
      app.close();
    };
    return { service, close };
  }
  const alpha = { platform: 'slack', channelId: 'C1', workspaceId: 'T0ALPHA' };
  const beta = { platform: 'slack', channelId: 'C2', workspaceId: 'T0BETA' };

  it('a place nothing routes reads its tenant’s collection, then default; chat writes go to its own', async () => {
    const { service, close } = await tenants();
    expect(await service.collectionsFor(alpha)).toEqual(['slack-t0alpha', 'default']);
    expect(await service.writeCollection(alpha)).toBe('slack-t0alpha');
    expect(await service.mayUse(beta, 'slack-t0alpha')).toBe(false);
    await expect(service.use(beta, ['slack-t0alpha'], 'slack:U2')).rejects.toThrow(/belongs to another/);
    // A direct message has no tenant: nothing is written from there.
    await expect(
      service.writeCollection({ platform: 'discord', channelId: 'D1', direct: true }),
    ).rejects.toThrow(/channel of a workspace or server/);
    close();
  });

  it("refuses sources read with the operator's tokens unless KB_CREDENTIALED_TENANTS names the tenant", async () => {
    const tokens = { GITHUB_TOKEN: 'ghp_operator', GIT_HOST_TOKENS: 'git.example.com=glpat_operator' };
    const { service, close } = await tenants(tokens);
    for (const url of [
      'https://github.com/operator/private/issues',
      'https://git.example.com/operator/private.git',
    ]) {
      await expect(service.addSourceFromChat(alpha, url, 'slack-t0alpha', 'slack:U1')).rejects.toThrow(
        /KB_CREDENTIALED_TENANTS/,
      );
    }
    // A site, and a repository on a host no token goes to, are read as anyone could.
    await service.addSourceFromChat(alpha, 'http://127.0.0.1:1/docs/', 'slack-t0alpha', 'slack:U1');
    await service.addSourceFromChat(
      alpha,
      'https://codeberg.org/someone/public.git',
      'slack-t0alpha',
      'slack:U1',
    );
    close();
    const allowed = await tenants({ ...tokens, KB_CREDENTIALED_TENANTS: 'T0ALPHA' });
    await allowed.service.addSourceFromChat(
      alpha,
      'https://github.com/operator/docs/issues',
      'slack-t0alpha',
      'slack:U1',
    );
    await expect(
      allowed.service.addSourceFromChat(
        beta,
        'https://github.com/operator/docs/issues',
        'slack-t0beta',
        'slack:U2',
      ),
    ).rejects.toThrow(/KB_CREDENTIALED_TENANTS/);
    allowed.close();
  });

  it('keeps each workspace’s own route and learning in a channel the two share (Slack Connect)', async () => {
    const { service, close } = await tenants();
    const alphaThere = { ...alpha, channelId: 'C0SHARED' };
    const betaThere = { ...beta, channelId: 'C0SHARED' };
    await service.use(alphaThere, ['slack-t0alpha'], 'slack:U1');
    // Beta's admin resets and routes the same channel id: Alpha's own route stays.
    expect(await service.resetUse(betaThere)).toBe(false);
    await service.use(betaThere, ['slack-t0beta'], 'slack:U2');
    expect((await service.route(alphaThere)).collections).toEqual(['slack-t0alpha']);
    expect((await service.route(betaThere)).collections).toEqual(['slack-t0beta']);
    await service.startLearning(alphaThere, 'slack:U1', true);
    expect(await service.stopLearning(betaThere)).toBe(false);
    expect(await service.learningIn(alphaThere)).toBeDefined();
    expect(await service.learningIn(betaThere)).toBeUndefined();
    close();
  });

  it("checks the operator's credentials again at each sync: a token set later for the source's host", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rag-later-token-'));
    dirs.push(dir);
    const store = await LocalStore.open({ dir });
    const app = openAppDatabase(dir);
    const serving = (env: Record<string, string>) =>
      new KnowledgeService({
        store,
        appDatabase: () => app,
        settings: parseConfig({ CRAWL_ALLOW_PRIVATE: 'true', ...env }).knowledge,
        tenantPlatforms: new Set(['slack']),
      });
    // Added while no token went to the host: read as anyone could (and failing, being private).
    const { source } = await serving({}).addSourceFromChat(
      alpha,
      'https://git.example.com/operator/private.git',
      'slack-t0alpha',
      'slack:U1',
    );
    // The operator then gives the bot a token for that host: the tenant's source is not read with it.
    const [summary] = await serving({ GIT_HOST_TOKENS: 'git.example.com=glpat_operator' }).sync([source]);
    expect(summary?.error).toMatch(/KB_CREDENTIALED_TENANTS/);
    expect(summary?.pages).toBe(0);
    store.close();
    app.close();
  });

  it("gives a name a tenant took first to the places the operator's routes name, once they do", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rag-squat-'));
    dirs.push(dir);
    const store = await LocalStore.open({ dir });
    const app = openAppDatabase(dir);
    const serving = (env: Record<string, string>) =>
      new KnowledgeService({
        store,
        appDatabase: () => app,
        settings: parseConfig({ CRAWL_ALLOW_PRIVATE: 'true', ...env }).knowledge,
        tenantPlatforms: new Set(['slack']),
      });
    // Alpha takes `hr` from its chat before the operator uses the name.
    await serving({}).addSourceFromChat(alpha, 'http://127.0.0.1:1/hr/', 'hr', 'slack:U1');
    expect(await serving({}).mayUse(alpha, 'hr')).toBe(true);
    // The operator then ingests its own `hr` and routes it to Beta: Alpha reads it no more.
    const routed = serving({ KNOWLEDGE_ROUTES: 'T0BETA=hr' });
    expect(await routed.mayUse(alpha, 'hr')).toBe(false);
    expect(await routed.mayUse(beta, 'hr')).toBe(true);
    expect(await routed.collectionsFor(alpha)).not.toContain('hr');
    store.close();
    app.close();
  });

  it('never writes where another tenant reads: default, a platform-wide route; a route to this workspace alone is fine', async () => {
    const { service, close } = await tenants({ KNOWLEDGE_ROUTES: 'slack=shared;T0ALPHA=alpha-docs' });
    await expect(service.writeCollection(beta)).rejects.toThrow(/this workspace's own is `slack-t0beta`/);
    await expect(
      service.addSourceFromChat(beta, 'http://127.0.0.1:1/x/', 'default', 'slack:U2'),
    ).rejects.toThrow(/other workspaces or servers read `default`/);
    expect(await service.writeCollection(alpha)).toBe('alpha-docs');
    const { source } = await service.addSourceFromChat(
      alpha,
      'http://127.0.0.1:1/a/',
      'alpha-docs',
      'slack:U1',
    );
    expect(source.tenant).toBe('slack:T0ALPHA');
    expect((await service.sourcesFor(alpha)).map((s) => s.url)).toEqual(['http://127.0.0.1:1/a/']);
    expect(await service.sourcesFor(beta)).toEqual([]);
    close();
  });
});

describe('a single-workspace Slack install beside Discord (tenants kept apart)', () => {
  async function mixed(env: Record<string, string> = {}) {
    const dir = await mkdtemp(join(tmpdir(), 'rag-mixed-'));
    dirs.push(dir);
    const store = await LocalStore.open({ dir });
    const app = openAppDatabase(dir);
    // As compose.ts builds it for SLACK_BOT_TOKEN next to DISCORD_TOKEN.
    const service = new KnowledgeService({
      store,
      appDatabase: () => app,
      settings: parseConfig({ CRAWL_ALLOW_PRIVATE: 'true', ...env }).knowledge,
      tenantPlatforms: new Set(['discord']),
    });
    const close = () => {
      store.close();
      app.close();
    };
    return { service, store, app, close };
  }
  const slack = { platform: 'slack', channelId: 'C0PRIVATE', workspaceId: 'T0ACME' };
  const server = { platform: 'discord', channelId: '111111111111111111', workspaceId: '222222222222222222' };
  const other = { platform: 'discord', channelId: '333333333333333333', workspaceId: '444444444444444444' };
  const thread = [
    { role: 'question' as const, text: 'What are the salary bands?' },
    { role: 'human' as const, text: 'Band 3 is 120k zebrafish.' },
  ];

  it('Slack’s saved threads go to its own collection, which no Discord server reads', async () => {
    const { service, store, close } = await mixed();
    const saved = await service.saveThread({
      place: slack,
      permalink: 'https://acme.slack.com/archives/C0PRIVATE/p1',
      messages: thread,
      savedBy: 'slack:U1',
    });
    expect(saved.collection).toBe('slack-t0acme');
    expect(await service.collectionsFor(slack)).toEqual(['slack-t0acme', 'default']);
    const read = await service.collectionsFor(server);
    expect(read).not.toContain('slack-t0acme');
    expect(await store.search('salary bands zebrafish', { topK: 3, collections: read })).toEqual([]);
    expect(await service.mayUse(server, 'slack-t0acme')).toBe(false);
    await expect(
      service.addSourceFromChat(slack, 'http://127.0.0.1:1/x/', 'default', 'slack:U1'),
    ).rejects.toThrow(/other workspaces or servers read `default`/);
    close();
  });

  it('a collection a channel routes to and writes into becomes its own: no server may use it, list it or read it', async () => {
    const { service, store, app, close } = await mixed();
    await service.use(slack, ['hr-threads'], 'slack:U1');
    const saved = await service.saveThread({
      place: slack,
      permalink: 'https://acme.slack.com/archives/C0PRIVATE/p2',
      messages: thread,
      savedBy: 'slack:U1',
    });
    expect(saved.collection).toBe('hr-threads');
    expect(await service.registry.ownerOf('hr-threads')).toBe('slack:T0ACME');
    expect(await service.mayUse(server, 'hr-threads')).toBe(false);
    await expect(service.use(server, ['hr-threads'], 'discord:9')).rejects.toThrow(/belongs to another/);
    // A route to it set before it was claimed (or written straight into the store) reads nothing of it.
    await sqliteRouteStore(app).set(server.channelId, ['hr-threads'], 'discord:9');
    const read = await service.collectionsFor(server);
    expect(read).not.toContain('hr-threads');
    expect(await store.search('salary bands zebrafish', { topK: 3, collections: read })).toEqual([]);
    close();
  });

  it('a new name routed with /kb use is the first tenant’s: the other cannot take it, to read what is written later', async () => {
    const { service, close } = await mixed();
    await service.use(server, ['playbook'], 'discord:1');
    await expect(service.use(other, ['playbook'], 'discord:2')).rejects.toThrow(/belongs to another/);
    await expect(service.use(slack, ['playbook'], 'slack:U1')).rejects.toThrow(/belongs to another/);
    await expect(
      service.saveThread({
        place: slack,
        permalink: 'https://x/3',
        messages: thread,
        savedBy: 'slack:U1',
        collection: 'playbook',
      }),
    ).rejects.toThrow(/belongs to another/);
    close();
  });
});

describe('the operator’s collections where tenants are kept apart', () => {
  async function withHr(env: Record<string, string>, tenantPlatforms: readonly string[]) {
    const dir = await mkdtemp(join(tmpdir(), 'rag-operator-'));
    dirs.push(dir);
    const store = await LocalStore.open({ dir });
    const app = openAppDatabase(dir);
    // As `npm run ingest --collection hr` leaves it: passages, no source, no owner.
    await store
      .collection('hr')
      .upsert([{ id: 'hr1', text: 'Salary bands are secret.', source: 'hr.md', metadata: {} }]);
    const service = new KnowledgeService({
      store,
      appDatabase: () => app,
      settings: parseConfig(env).knowledge,
      tenantPlatforms: new Set(tenantPlatforms),
    });
    const close = () => {
      store.close();
      app.close();
    };
    return { service, close };
  }
  const server = { platform: 'discord', channelId: '111111111111111111', workspaceId: '222222222222222222' };
  const other = { platform: 'discord', channelId: '333333333333333333', workspaceId: '444444444444444444' };

  it('are read by a tenant only where KNOWLEDGE_ROUTES routes them; default stays shared', async () => {
    const unrouted = await withHr({}, ['discord']);
    expect(await unrouted.service.mayUse(server, 'hr')).toBe(false);
    expect(await unrouted.service.mayUse(server, 'default')).toBe(true);
    await expect(unrouted.service.use(server, ['hr'], 'discord:1')).rejects.toThrow(/belongs to another/);
    unrouted.close();
    const routed = await withHr({ KNOWLEDGE_ROUTES: '222222222222222222=hr,default' }, ['discord']);
    expect(await routed.service.mayUse(server, 'hr')).toBe(true);
    expect(await routed.service.collectionsFor(server)).toEqual(['hr', 'default']);
    expect(await routed.service.mayUse(other, 'hr')).toBe(false);
    routed.close();
  });

  it('stay open to every channel of a bot that serves one workspace', async () => {
    const single = await withHr({}, []);
    expect(await single.service.mayUse({ platform: 'slack', channelId: 'C1', workspaceId: 'T1' }, 'hr')).toBe(
      true,
    );
    single.close();
  });
});
