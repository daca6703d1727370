/** The web chat: served from `npm start` or not, who may embed it, its token, its public address, proxy trust. */
import { defineSettings } from '../settings/area.js';
import { atLeastChars, flag, parsedBy } from '../settings/variables.js';
import { parseOrigins } from './origins.js';
import { parseTrustProxy, type TrustProxy } from './proxy.js';

export interface WebSlice {
  readonly web: {
    /** Serve the web chat from `npm start` (WEB_CHAT); `npm run web` always serves it. */
    readonly enabled: boolean;
    /** Origins whose pages may embed the chat with the widget. */
    readonly allowedOrigins: readonly string[];
    /** When set, API calls need it as a Bearer token. */
    readonly token?: string;
    /**
     * The chat's public origins (WEB_CHAT_PUBLIC_URL): with local names, the only hosts it
     * answers on, and origins its API accepts.
     */
    readonly publicOrigins: readonly string[];
    /** Which proxies' X-Forwarded-For entries are believed (TRUST_PROXY); none when unset. */
    readonly trustProxy?: TrustProxy;
    /** A configuration notice to log at start (WEB_CHAT_TRUST_PROXY read as TRUST_PROXY=1). */
    readonly notice?: string;
  };
}

/** TRUST_PROXY, or the older WEB_CHAT_TRUST_PROXY=true read as one proxy hop, with a notice saying so. */
function webTrustProxy(
  trustProxy: TrustProxy | undefined,
  legacy: boolean,
): { trustProxy?: TrustProxy; notice?: string } {
  if (trustProxy) {
    return {
      trustProxy,
      ...(legacy
        ? {
            notice:
              'WEB_CHAT_TRUST_PROXY is ignored: TRUST_PROXY is set and says which proxies are trusted; remove WEB_CHAT_TRUST_PROXY',
          }
        : {}),
    };
  }
  if (!legacy) return {};
  return {
    trustProxy: parseTrustProxy('1')!,
    notice:
      "WEB_CHAT_TRUST_PROXY=true is read as TRUST_PROXY=1: the client is the address the one proxy in front of the bot appended to X-Forwarded-For, not the first entry (which the client writes). Set TRUST_PROXY (a hop count, or the proxies' addresses) and remove WEB_CHAT_TRUST_PROXY",
  };
}

export const webSettings = defineSettings({
  variables: {
    WEB_CHAT: flag,
    WEB_CHAT_ORIGINS: parsedBy(parseOrigins),
    WEB_CHAT_TOKEN: atLeastChars(16, 'must be at least 16 characters long'),
    /** The chat's own public address(es): the only Host names (besides local ones) it answers on. */
    WEB_CHAT_PUBLIC_URL: parsedBy(parseOrigins),
    /** Proxies in front of the web chat: a hop count or addresses/networks (replaces WEB_CHAT_TRUST_PROXY). */
    TRUST_PROXY: parsedBy(parseTrustProxy),
    /** Replaced by TRUST_PROXY; `true` is read as one proxy hop. */
    WEB_CHAT_TRUST_PROXY: flag,
  },
  secrets: ['WEB_CHAT_TOKEN'],
  build: (env): WebSlice => ({
    web: {
      enabled: env.WEB_CHAT,
      allowedOrigins: env.WEB_CHAT_ORIGINS,
      ...(env.WEB_CHAT_TOKEN ? { token: env.WEB_CHAT_TOKEN } : {}),
      publicOrigins: env.WEB_CHAT_PUBLIC_URL,
      ...webTrustProxy(env.TRUST_PROXY, env.WEB_CHAT_TRUST_PROXY),
    },
  }),
});
