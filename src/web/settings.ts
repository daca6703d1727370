/** The web chat: served from `npm start` or not, who may embed it, its token, proxy trust. */
import { defineSettings } from '../settings/area.js';
import { atLeastChars, flag, parsedBy } from '../settings/variables.js';
import { parseOrigins } from './origins.js';

export interface WebSlice {
  readonly web: {
    /** Serve the web chat from `npm start` (WEB_CHAT); `npm run web` always serves it. */
    readonly enabled: boolean;
    /** Origins whose pages may embed the chat with the widget. */
    readonly allowedOrigins: readonly string[];
    /** When set, API calls need it as a Bearer token. */
    readonly token?: string;
    /** Take the client address from X-Forwarded-For (behind a trusted reverse proxy). */
    readonly trustProxy: boolean;
  };
}

export const webSettings = defineSettings({
  variables: {
    WEB_CHAT: flag,
    WEB_CHAT_ORIGINS: parsedBy(parseOrigins),
    WEB_CHAT_TOKEN: atLeastChars(16, 'must be at least 16 characters long'),
    WEB_CHAT_TRUST_PROXY: flag,
  },
  secrets: ['WEB_CHAT_TOKEN'],
  build: (env): WebSlice => ({
    web: {
      enabled: env.WEB_CHAT,
      allowedOrigins: env.WEB_CHAT_ORIGINS,
      ...(env.WEB_CHAT_TOKEN ? { token: env.WEB_CHAT_TOKEN } : {}),
      trustProxy: env.WEB_CHAT_TRUST_PROXY,
    },
  }),
});
