/**
 * The web chat: a page a person opens to ask the knowledge base with no Slack or Discord
 * account, and a widget script that embeds that page on another site. The browser tab keeps
 * the conversation and sends it with each question, so the server stays stateless.
 *
 * Routes (the same shape as Bolt's customRoutes, so they can share Slack's port):
 *   GET  /                 the chat page
 *   GET  /web/…            its scripts, styles and markdown-it's browser build
 *   GET  /widget.js        the embed script for other sites
 *   POST /api/chat         a question and the tab's history → NDJSON answer events
 *   POST /api/feedback     a 👍/👎 on an answer, logged like the platforms' votes
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import type { ConversationLayer } from '../conversation/layer.js';
import { failures } from '../core/failures.js';
import type { HttpRoute } from '../http/types.js';
import { type Logger, silentLogger } from '../log.js';
import { loadAssets, sendAsset } from './assets.js';
import { webConversation } from './conversation.js';
import { DEFAULT_LIMITS, type WebChatLimits, type WebChatOptions } from './options.js';
import { normaliseOrigin } from './origins.js';
import { clientAddress, clientLimitKey } from './proxy.js';
import { ClientRateLimiter } from './rate-limit.js';
import { BadRequest, parseChatRequest, parseFeedbackRequest, readJsonBody } from './requests.js';
import { bearerToken, hostAllowed, originAllowed, securityHeaders, tokenMatches } from './security.js';

export type { WebChatLimits, WebChatOptions } from './options.js';

/** The web chat's options from the validated configuration. */
export function webChatOptions(
  config: Config,
  conversations: ConversationLayer,
  logger: Logger,
): WebChatOptions {
  return {
    conversations,
    allowedOrigins: config.web.allowedOrigins,
    ...(config.web.token ? { token: config.web.token } : {}),
    publicOrigins: config.web.publicOrigins,
    ...(config.web.trustProxy ? { trustProxy: config.web.trustProxy } : {}),
    ...(config.web.notice ? { notice: config.web.notice } : {}),
    logger,
  };
}

export interface WebChat {
  readonly routes: HttpRoute[];
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res
    .writeHead(status, { ...headers, 'content-type': 'application/json', 'cache-control': 'no-store' })
    .end(JSON.stringify(body));
}

export function createWebChat(options: WebChatOptions): WebChat {
  const limits: WebChatLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const allowedOrigins = (options.allowedOrigins ?? []).map(normaliseOrigin);
  const log = (options.logger ?? silentLogger).child({ platform: 'web' });
  const headers = securityHeaders(allowedOrigins);
  const assets = loadAssets(limits, allowedOrigins);
  const questionLimit = new ClientRateLimiter(limits.questionsPerMinute, options.now);
  const feedbackLimit = new ClientRateLimiter(limits.feedbackPerMinute, options.now);
  const publicOrigins = (options.publicOrigins ?? []).map(normaliseOrigin);
  if (options.notice) log.warn(options.notice);
  const { trustProxy } = options;

  /**
   * Every route of the chat answers only on its own host names: a request whose Host is another
   * name (a site rebound to the bot's address) gets 421 and nothing else. True when refused.
   */
  const misdirected = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (hostAllowed(req, publicOrigins)) return false;
    log.warn(
      { host: req.headers.host?.slice(0, 200) },
      'refused a request for a host name the chat does not serve',
    );
    sendJson(
      res,
      421,
      {
        message:
          'This chat does not answer on that host name. The operator sets its public address in WEB_CHAT_PUBLIC_URL.',
      },
      headers,
    );
    return true;
  };

  /**
   * The checks every API call passes before its body is read: origin, rate, token. Returns the
   * client's address, or undefined when the request was refused (and answered).
   */
  const admit = (req: IncomingMessage, res: ServerResponse, limiter: ClientRateLimiter) => {
    if (misdirected(req, res)) return undefined;
    if (!originAllowed(req, allowedOrigins, publicOrigins)) {
      log.warn({ origin: req.headers.origin }, 'refused an API call from an origin not allowed');
      sendJson(res, 403, { message: 'This site is not allowed to use the chat.' }, headers);
      return undefined;
    }
    // Counted before the token check, so guessing tokens is as slow as asking.
    const client = clientAddress(req, trustProxy);
    const decision = limiter.hit(clientLimitKey(client));
    if (!decision.allowed) {
      sendJson(
        res,
        429,
        { kind: 'slow_down', message: failures.slowDown(decision.retryAfterSeconds).message },
        { ...headers, 'retry-after': String(decision.retryAfterSeconds) },
      );
      return undefined;
    }
    if (options.token !== undefined && !tokenMatches(bearerToken(req), options.token)) {
      sendJson(
        res,
        401,
        { error: 'token', message: 'This chat needs an access token. Ask the team that runs it.' },
        { ...headers, 'www-authenticate': 'Bearer' },
      );
      return undefined;
    }
    return client;
  };

  const refuse = (res: ServerResponse, error: unknown) => {
    if (error instanceof BadRequest) {
      if (error.status === 413) res.setHeader('connection', 'close');
      sendJson(res, error.status, { message: error.message }, headers);
      return;
    }
    throw error;
  };

  const chat: HttpRoute = {
    path: '/api/chat',
    method: 'POST',
    handler: async (req, res) => {
      const client = admit(req, res, questionLimit);
      if (client === undefined) return;
      let request: ReturnType<typeof parseChatRequest>;
      try {
        request = parseChatRequest(await readJsonBody(req, limits.maxBodyBytes), limits);
      } catch (error) {
        refuse(res, error);
        return;
      }
      const questionId = randomUUID();
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
      const { conversation, signal } = webConversation(
        { res, client, history: request.history, ...(request.tabId ? { tabId: request.tabId } : {}) },
        questionId,
      );
      await options.conversations.ask(conversation, request.question, { questionId, signal, via: 'web' });
    },
  };

  const feedback: HttpRoute = {
    path: '/api/feedback',
    method: 'POST',
    handler: async (req, res) => {
      const client = admit(req, res, feedbackLimit);
      if (client === undefined) return;
      let vote: ReturnType<typeof parseFeedbackRequest>;
      try {
        vote = parseFeedbackRequest(await readJsonBody(req, 4 * 1024));
      } catch (error) {
        refuse(res, error);
        return;
      }
      options.conversations.feedback({
        place: { platform: 'web', ...(vote.tabId ? { channelId: vote.tabId } : {}), direct: true },
        questionId: vote.questionId,
        userId: client,
        vote: vote.vote,
      });
      res.writeHead(204, headers).end();
    },
  };

  const files: HttpRoute[] = [...assets].map(([path, file]) => ({
    path,
    method: 'GET',
    handler: (req, res) => {
      if (misdirected(req, res)) return;
      sendAsset(req, res, file, {
        ...headers,
        // Other sites load the widget script; everything else is for this origin's page.
        ...(path === '/widget.js' ? { 'cross-origin-resource-policy': 'cross-origin' } : {}),
      });
    },
  }));

  return { routes: [...files, chat, feedback] };
}
