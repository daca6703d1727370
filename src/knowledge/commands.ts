/**
 * `/kb` for every front end: parsing Slack's text form, checking who may run it, and running
 * each subcommand through the knowledge service. A front end supplies the place, who asked,
 * whether they are an admin, how to quote text we did not write, and how to tell them later
 * (a sync outlives the command's reply); it gets back the private reply to show now.
 */
import { strings } from '../conversation/strings.js';
import type { Place } from '../core/types.js';
import { CrawlError } from '../ingest/crawl.js';
import type { ChosenTarget, SettingName, TenantSettingsStore } from '../tenants/settings-store.js';
import { channelKey, parseCollections, RouteError } from './collections.js';
import { SourceError } from './kinds/kind.js';
import {
  describeSync,
  type KnowledgeService,
  LearnRefusedError,
  NotYourCollectionError,
  SYNC_BUSY,
  SyncBusyError,
} from './service.js';
import type { SourceRecord } from './sources.js';
import { CANCELLED } from './sync.js';

export type KbCommand =
  | { readonly name: 'add'; readonly url?: string; readonly collection?: string }
  | { readonly name: 'list' }
  | { readonly name: 'remove'; readonly source?: string }
  | { readonly name: 'status' }
  | { readonly name: 'sync'; readonly source?: string }
  | { readonly name: 'use'; readonly collections?: string }
  | { readonly name: 'learn'; readonly off: boolean }
  | { readonly name: 'settings'; readonly changes: readonly SettingChangeRequest[] }
  | { readonly name: 'help' }
  | { readonly name: 'unknown'; readonly word: string };

/** A setting an admin asked to change: what they typed for it, or `off` to clear it. */
export interface SettingChangeRequest {
  readonly setting: SettingName | 'unknown';
  /** What was typed: a group, role or channel (as the platform sends it), `off`, or nothing. */
  readonly value?: string;
  /** The word naming an unknown setting, to quote back. */
  readonly word?: string;
}

export const KB_SUBCOMMANDS = [
  'add',
  'learn',
  'list',
  'remove',
  'settings',
  'status',
  'sync',
  'use',
] as const;

const SETTING_WORDS: Record<string, SettingName> = {
  handoff: 'handoff',
  human: 'handoff',
  group: 'handoff',
  role: 'handoff',
  digest: 'digest',
};

/** `/kb settings [handoff|digest <value|off>]` as typed in Slack. */
function settingsCommand(rest: readonly string[]): KbCommand {
  const [word, value] = rest;
  if (!word) return { name: 'settings', changes: [] };
  const setting = SETTING_WORDS[word.toLowerCase()];
  return {
    name: 'settings',
    changes: [
      setting ? { setting, ...(value ? { value } : {}) } : { setting: 'unknown', word: word.slice(0, 30) },
    ],
  };
}

/** Slack's `/kb add https://… docs` text form. Slack wraps links as `<https://…>` or `<https://…|label>`. */
export function parseKbText(text: string): KbCommand {
  const words = text
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((word) => word.replace(/^<([^|>]+)(?:\|[^>]*)?>$/, '$1'));
  const [first, ...rest] = words;
  const name = (first ?? 'help').toLowerCase();
  const arg = (i: number) => rest[i];
  switch (name) {
    case 'add':
      return { name, ...(arg(0) ? { url: arg(0)! } : {}), ...(arg(1) ? { collection: arg(1)! } : {}) };
    case 'list':
    case 'status':
      return { name };
    case 'remove':
      return { name, ...(arg(0) ? { source: arg(0)! } : {}) };
    case 'sync':
      return { name, ...(arg(0) ? { source: arg(0)! } : {}) };
    case 'use':
      return { name, ...(rest.length > 0 ? { collections: rest.join(' ') } : {}) };
    case 'learn':
      return { name, off: /^(off|stop|no|false)$/i.test(arg(0) ?? '') };
    case 'settings':
      return settingsCommand(rest);
    case 'help':
      return { name };
    default:
      return { name: 'unknown', word: name.slice(0, 30) };
  }
}

export interface KbRequest {
  readonly command: KbCommand;
  readonly place: Place;
  /** Who ran it, for the records ("slack:U123"). */
  readonly actor: string;
  isAdmin(): Promise<boolean>;
  /** Text we did not write (URLs, errors from a site), made inert for the platform. */
  quote(text: string): string;
  /** Tells the person privately once background work (a sync) has finished. */
  later(text: string): Promise<void>;
  /** Whether the channel is public (`/kb learn` works only there); absent: not known to be. */
  channelIsPublic?(): Promise<boolean>;
  /** The workspace's or server's settings (`/kb settings`); absent where there are none. */
  readonly settings?: KbSettingsAccess;
}

/** What `/kb settings` needs from a front end: the store, and the platform's checks and wording. */
export interface KbSettingsAccess {
  readonly store: TenantSettingsStore;
  /** What applies where this workspace chose nothing: the environment's value, where it applies here. */
  readonly fallback: Partial<Record<SettingName, ChosenTarget & { readonly variable: string }>>;
  /**
   * Checks what an admin gave for a setting against the platform (the group or role exists and
   * can be mentioned; the bot can post in the channel): the target, or a sentence saying why not.
   */
  check(setting: SettingName, raw: string): Promise<ChosenTarget | { readonly problem: string }>;
  /** How the platform names a setting's target in a reply that pings nobody ("@support", "#kb-digest"). */
  describe(setting: SettingName, target: ChosenTarget): string;
}

/** The lines of `/kb status`, `/kb settings` and the Slack Home tab: each setting and where it comes from. */
export async function settingsSummary(
  access: KbSettingsAccess,
  platform: string,
  workspaceId: string,
): Promise<string[]> {
  const chosen = await access.store.get(platform, workspaceId);
  const line = (setting: SettingName) => {
    const target = chosen[setting];
    const fallback = access.fallback[setting];
    const what =
      target !== undefined
        ? strings.kb.settingChosen(access.describe(setting, target))
        : fallback
          ? strings.kb.settingFromEnvironment(access.describe(setting, fallback), fallback.variable)
          : setting === 'handoff'
            ? strings.kb.handoffUnset
            : strings.kb.digestUnset;
    return `${setting === 'handoff' ? strings.kb.handoffLabel : strings.kb.digestLabel}: ${what}`;
  };
  return [line('handoff'), line('digest')];
}

async function runSettings(request: KbRequest, changes: readonly SettingChangeRequest[]): Promise<KbResult> {
  const access = request.settings;
  const workspaceId = request.place.workspaceId;
  if (!access || !workspaceId) return { reply: strings.kb.settingsNotHere };
  const replies: string[] = [];
  for (const change of changes) {
    if (change.setting === 'unknown') {
      return {
        reply: `${strings.kb.unknownSetting(request.quote(change.word ?? ''))}
${strings.kb.settingsHelp}`,
      };
    }
    const { setting } = change;
    const raw = change.value?.trim() ?? '';
    if (!raw) return { reply: strings.kb.settingNeedsValue(setting) };
    if (/^(off|none|clear|reset)$/i.test(raw)) {
      await access.store.update(request.place.platform, workspaceId, { [setting]: null }, request.actor);
      const fallback = access.fallback[setting];
      replies.push(
        strings.kb.settingCleared(
          setting,
          fallback ? `${access.describe(setting, fallback)} (${fallback.variable})` : undefined,
        ),
      );
      continue;
    }
    const checked = await access.check(setting, raw);
    if ('problem' in checked) return { reply: strings.kb.problem(checked.problem) };
    await access.store.update(request.place.platform, workspaceId, { [setting]: checked }, request.actor);
    replies.push(strings.kb.settingSet(setting, access.describe(setting, checked)));
  }
  const lines = await settingsSummary(access, request.place.platform, workspaceId);
  return {
    reply: [...replies, ...(replies.length === 0 ? [strings.kb.settingsHeading] : []), ...lines].join('\n'),
  };
}

export interface KbResult {
  /** The private reply to show now. */
  readonly reply: string;
  /** Background work started by the command (tests wait on it; front ends need not). */
  readonly background?: Promise<void>;
}

function listSources(
  service: KnowledgeService,
  sources: readonly SourceRecord[],
  quote: (text: string) => string,
): string {
  if (sources.length === 0) return strings.kb.noSources;
  return sources
    .map((source) => {
      const sync = source.lastSyncAt
        ? `last sync ${source.lastSyncAt.slice(0, 16).replace('T', ' ')} UTC, ${source.lastStatus}${
            source.failures > 0
              ? ` (${source.failures} ${service.kindOf(source)?.noun ?? 'page(s)'} failed)`
              : ''
          }${source.lastError ? `: ${quote(source.lastError.slice(0, 200))}` : ''}`
        : 'never synced';
      const kind = service.kindOf(source);
      const what = kind && kind.name !== 'web' ? ` (${kind.label})` : '';
      return `#${source.id} ${quote(source.url)}${what} → \`${source.collection}\`: ${source.pages} ${kind?.noun ?? 'page(s)'}, ${source.chunks} passage(s), ${sync}`;
    })
    .join('\n');
}

async function startSync(
  service: KnowledgeService,
  request: KbRequest,
  sources: readonly SourceRecord[],
): Promise<void> {
  try {
    const summaries = await service.sync(sources);
    const lines = summaries.map((summary) =>
      summary.error === CANCELLED
        ? strings.kb.syncCancelled(request.quote(summary.source.url))
        : summary.error === SYNC_BUSY
          ? strings.kb.sourceBusy(request.quote(summary.source.url))
          : summary.error
            ? strings.kb.syncFailed(
                request.quote(summary.source.url),
                request.quote(summary.error.slice(0, 200)),
              )
            : strings.kb.synced(
                request.quote(summary.source.url),
                describeSync(summary, service.kindOf(summary.source)?.noun),
              ),
    );
    await request.later(lines.join('\n'));
  } catch (error) {
    await request.later(
      error instanceof SyncBusyError
        ? strings.kb.syncBusy
        : strings.kb.problem(request.quote((error as Error).message)),
    );
  }
}

export async function runKbCommand(service: KnowledgeService, request: KbRequest): Promise<KbResult> {
  const { command, quote } = request;
  if (command.name === 'help') return { reply: strings.kb.help };
  if (command.name === 'unknown')
    return { reply: `${strings.kb.unknown(quote(command.word))}\n\n${strings.kb.help}` };
  // Every other subcommand shows or changes what places read, including private collections.
  if (!(await request.isAdmin())) return { reply: strings.kb.notAdmin };
  try {
    switch (command.name) {
      case 'add': {
        if (!command.url) return { reply: strings.kb.needsUrl };
        const collection = command.collection
          ? parseCollections(command.collection)[0]!
          : await service.writeCollection(request.place);
        const { source, created } = await service.addSourceFromChat(
          request.place,
          command.url,
          collection,
          request.actor,
        );
        const background = startSync(service, request, [source]);
        return {
          reply: created
            ? strings.kb.adding(quote(source.url), collection)
            : strings.kb.alreadyAdded(quote(source.url), collection),
          background,
        };
      }
      case 'list':
        return { reply: listSources(service, await service.sourcesFor(request.place), quote) };
      case 'remove': {
        if (!command.source) return { reply: strings.kb.needsSource };
        // Resolved among this place's own sources only: another tenant's of the same URL neither
        // hides it nor is revealed.
        const source = await service.findSourceFor(request.place, command.source);
        if (!source) return { reply: strings.kb.noSuchSource(quote(command.source.slice(0, 200))) };
        const pages = await service.removeSource(source);
        return { reply: strings.kb.removed(quote(source.url), pages, service.kindOf(source)?.noun) };
      }
      case 'settings':
        return await runSettings(request, command.changes);
      case 'status': {
        const status = await service.status();
        const route = await service.route(request.place);
        const origin =
          route.origin === 'chat'
            ? 'set with /kb use'
            : route.origin === 'environment'
              ? 'from KNOWLEDGE_ROUTES'
              : 'the default';
        const all = [...status.collections];
        const usable = await service.mayUseAll(
          request.place,
          all.map(([name]) => name),
        );
        const collections =
          all
            .filter((_, i) => usable[i])
            .map(([name, count]) => `\`${name}\` ${count} passage(s)`)
            .join(', ') || 'none yet';
        return {
          reply: [
            `Collections: ${collections}`,
            `This channel reads: ${route.collections.map((name) => `\`${name}\``).join(', ')} (${origin})`,
            `Sources:\n${listSources(service, await service.sourcesFor(request.place), quote)}`,
            (await service.learningIn(request.place))
              ? strings.kb.learningStatus(await service.learnedIn(request.place))
              : strings.kb.notLearning,
            service.settings.syncIntervalMs
              ? `Sources re-sync every ${Math.round(service.settings.syncIntervalMs / 60_000)} minute(s).`
              : 'Sources re-sync only with /kb sync (SYNC_INTERVAL is not set).',
            ...(request.settings && request.place.workspaceId
              ? await settingsSummary(request.settings, request.place.platform, request.place.workspaceId)
              : []),
          ].join('\n'),
        };
      }
      case 'sync': {
        const sources = command.source
          ? [await service.findSourceFor(request.place, command.source)]
          : await service.sourcesFor(request.place);
        if (sources[0] === undefined && command.source) {
          return { reply: strings.kb.noSuchSource(quote(command.source.slice(0, 200))) };
        }
        const list = sources.filter((source): source is SourceRecord => source !== undefined);
        if (list.length === 0) return { reply: strings.kb.noSources };
        return { reply: strings.kb.syncing(list.length), background: startSync(service, request, list) };
      }
      case 'learn': {
        if (!channelKey(request.place) || request.place.direct) return { reply: strings.kb.notInChannel };
        if (command.off) {
          return {
            reply: (await service.stopLearning(request.place)) ? strings.kb.learnOff : strings.kb.notLearning,
          };
        }
        const isPublic = (await request.channelIsPublic?.()) ?? false;
        const collection = await service.startLearning(request.place, request.actor, isPublic);
        return { reply: strings.kb.learnOn(collection) };
      }
      case 'use': {
        if (!channelKey(request.place) || request.place.direct) return { reply: strings.kb.notInChannel };
        const raw = command.collections?.trim() ?? '';
        if (/^(reset|clear|none)$/i.test(raw)) {
          await service.resetUse(request.place);
          const now = (await service.collectionsFor(request.place)).map((name) => `\`${name}\``).join(', ');
          return { reply: strings.kb.usingReset(now) };
        }
        const collections = parseCollections(raw);
        const key = (await service.use(request.place, collections, request.actor))!;
        return {
          reply: strings.kb.using(quote(key), collections.map((name) => `\`${name}\``).join(', ')),
        };
      }
    }
  } catch (error) {
    if (
      error instanceof RouteError ||
      error instanceof CrawlError ||
      error instanceof SourceError ||
      error instanceof LearnRefusedError ||
      error instanceof NotYourCollectionError
    ) {
      return { reply: strings.kb.problem(quote(error.message)) };
    }
    throw error;
  }
}
