/**
 * What the web chat can be told, with the defaults it uses otherwise. Its environment
 * variables (WEB_CHAT, WEB_CHAT_ORIGINS, WEB_CHAT_TOKEN, WEB_CHAT_PUBLIC_URL, TRUST_PROXY) are validated
 * with the rest of the configuration (src/config.ts).
 */
import type { ConversationLayer } from '../conversation/layer.js';
import type { Logger } from '../log.js';
import type { TrustProxy } from './proxy.js';

export interface WebChatLimits {
  /** Largest request body accepted, in bytes. */
  readonly maxBodyBytes: number;
  /** Earlier turns a tab may send with a question. */
  readonly maxHistoryTurns: number;
  /** Characters per earlier turn; the page trims longer answers before sending. */
  readonly maxTurnChars: number;
  /** Questions per client per minute; 0 disables the web chat's own limit. */
  readonly questionsPerMinute: number;
  /** Feedback votes per client per minute; 0 disables the limit. */
  readonly feedbackPerMinute: number;
}

export interface WebChatOptions {
  /** The shared conversation layer every front end answers through. */
  readonly conversations: ConversationLayer;
  /** Origins (scheme://host[:port]) whose pages may embed the chat with the widget. */
  readonly allowedOrigins?: readonly string[];
  /** When set, the API answers only requests that carry it as a Bearer token. */
  readonly token?: string;
  /**
   * The chat's public origins (WEB_CHAT_PUBLIC_URL): besides local names (localhost,
   * 127.0.0.1, [::1]) the only hosts it answers on (421 otherwise), and origins its API accepts.
   */
  readonly publicOrigins?: readonly string[];
  /**
   * Which proxies' X-Forwarded-For entries are believed (TRUST_PROXY); otherwise the socket's
   * address identifies the client.
   */
  readonly trustProxy?: TrustProxy;
  /** A configuration notice logged once when the chat starts (a replaced variable). */
  readonly notice?: string;
  readonly limits?: Partial<WebChatLimits>;
  readonly logger?: Logger;
  /** Milliseconds since the epoch; injected by tests of the rate limits. */
  readonly now?: () => number;
}

export const DEFAULT_LIMITS: WebChatLimits = {
  maxBodyBytes: 128 * 1024,
  maxHistoryTurns: 20,
  maxTurnChars: 4_000,
  questionsPerMinute: 20,
  feedbackPerMinute: 60,
};
