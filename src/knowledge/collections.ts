/**
 * Collections and routes: which collections a place reads. A route maps a place key (a
 * channel, a workspace or server, a platform such as `web`, or `*` for everywhere) to
 * collections. The most specific key that has a route wins: the channel, then the channel a
 * thread hangs off, then the workspace or server, then the platform, then `*`; at the same
 * key, a route an admin set from the chat (`/kb use`) wins over KNOWLEDGE_ROUTES. A place with
 * no route reads `default`. A place never reads a collection that is not routed to it, so a
 * private collection routed to one channel stays out of every other.
 */
import { DEFAULT_COLLECTION, type Place } from '../core/types.js';

/** Lower-case letters, digits, `-` and `_`, up to 40 characters, starting with a letter or digit. */
const COLLECTION_NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;

export function isCollectionName(name: string): boolean {
  return COLLECTION_NAME.test(name);
}

export class RouteError extends Error {
  override name = 'RouteError';
}

/** Splits "hr, default" into checked collection names; throws `RouteError` naming the bad one. */
export function parseCollections(list: string): string[] {
  const names = [
    ...new Set(
      list
        .split(/[\s,]+/)
        .map((name) => name.trim().toLowerCase())
        .filter(Boolean),
    ),
  ];
  if (names.length === 0) throw new RouteError('name at least one collection');
  const bad = names.find((name) => !isCollectionName(name));
  if (bad !== undefined) {
    throw new RouteError(
      `"${bad.slice(0, 40)}" is not a collection name (lower-case letters, digits, - and _, up to 40)`,
    );
  }
  return names;
}

export type Routes = ReadonlyMap<string, readonly string[]>;

/** Parses KNOWLEDGE_ROUTES, e.g. `C0123=hr,default;T0456=eng;web=public`. */
export function parseRoutes(value: string | undefined): Map<string, string[]> {
  const routes = new Map<string, string[]>();
  if (!value?.trim()) return routes;
  for (const entry of value.split(';')) {
    if (!entry.trim()) continue;
    const [key, list, ...rest] = entry.split('=');
    const place = key?.trim() ?? '';
    if (!place || list === undefined || rest.length > 0) {
      throw new RouteError(`"${entry.trim().slice(0, 60)}" must look like PLACE=collection[,collection]`);
    }
    if (!/^[\w*.:-]{1,64}$/.test(place)) throw new RouteError(`"${place.slice(0, 64)}" is not a place id`);
    routes.set(place, parseCollections(list));
  }
  return routes;
}

/**
 * Platforms whose channel and workspace ids come from the platform itself. Elsewhere (a web
 * chat tab, a terminal session) the client names its own "channel", so a tab called `C0123`
 * must not read C0123's collections: those places are routed by platform (and `*`) only.
 */
const PLATFORM_ISSUED_IDS = new Set(['slack', 'discord']);

/** The keys a place is looked up by, most specific first. */
export function placeKeys(place: Place): string[] {
  const ids = PLATFORM_ISSUED_IDS.has(place.platform)
    ? [place.channelId, place.parentId, place.workspaceId]
    : [];
  const keys = [...ids, place.platform, '*'];
  return [...new Set(keys.filter((key): key is string => Boolean(key)))];
}

/** The key an admin's `/kb use` sets: the channel (a thread's parent channel, not the thread). */
export function channelKey(place: Place): string | undefined {
  return place.parentId ?? place.channelId;
}

export interface ResolvedRoute {
  readonly collections: readonly string[];
  /** Which key matched and where the route came from; `default` when nothing matched. */
  readonly key?: string;
  readonly origin: 'chat' | 'environment' | 'default';
}

/** The route of `place`: the first of `keys` (most specific first) that a route names. */
export function resolveRoute(
  place: Place,
  fromChat: Routes,
  fromEnvironment: Routes,
  keys: readonly string[] = placeKeys(place),
): ResolvedRoute {
  for (const key of keys) {
    const chat = fromChat.get(key);
    if (chat) return { collections: chat, key, origin: 'chat' };
    const environment = fromEnvironment.get(key);
    if (environment) return { collections: environment, key, origin: 'environment' };
  }
  return { collections: [DEFAULT_COLLECTION], origin: 'default' };
}
