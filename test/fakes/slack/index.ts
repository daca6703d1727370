/**
 * A loopback fake of the Slack Web API (`POST /api/<method>`, form or JSON bodies, Bearer
 * token, the `{ok, error}` envelope) with the methods the bot uses, a message store so
 * `conversations.replies` sees what was posted, `response_url` endpoints for slash
 * commands, switchable 429 + Retry-After and `not_in_channel`, and chat streaming that can
 * be turned off. Plus helpers that send correctly (or badly) signed requests to Bolt.
 */
import { createHmac } from 'node:crypto';
import { type WebSocket, WebSocketServer } from 'ws';
import { type LoopbackServer, sendJson, startLoopbackServer } from '../http-server.js';

export interface SlackCall {
  readonly method: string;
  readonly args: Record<string, unknown>;
  readonly at: number;
}

export interface FakeMessage {
  readonly ts: string;
  thread_ts?: string;
  text: string;
  user?: string;
  bot_id?: string;
  blocks?: unknown[];
  metadata?: { event_type: string; event_payload?: Record<string, unknown> };
}

export interface FakeSlackOptions {
  readonly token?: string;
  readonly botUserId?: string;
  readonly botId?: string;
  readonly teamId?: string;
  /** Scopes the token was granted, reported in x-oauth-scopes. */
  readonly scopes?: readonly string[];
  /** App-level token accepted by apps.connections.open (Socket Mode). */
  readonly appToken?: string;
}

export interface FakeSlack {
  /** Value for SLACK_API_URL (Bolt's clientOptions.slackApiUrl). */
  readonly apiURL: string;
  readonly url: string;
  readonly token: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly teamId: string;
  readonly calls: SlackCall[];
  /** Bodies posted to response_url, by command id. */
  readonly responses: Map<string, unknown[]>;
  callsTo(method: string): SlackCall[];
  /** Called on every recorded call (benchmarks wait on this instead of polling). */
  onCall(listener: (call: SlackCall) => void): () => void;
  /** The call that ended an answer in `channel`: it carries the feedback buttons or a warning. */
  answerEnd(channel: string): SlackCall | undefined;
  /** Resolves when the next answer text (streamed or final) reaches `channel`. */
  nextAnswerText(channel: string): Promise<void>;
  /** Messages in a channel, oldest first. */
  messages(channel: string): FakeMessage[];
  /** Adds a message as if a user had posted it; returns its ts. */
  addUserMessage(channel: string, user: string, text: string, threadTs?: string): string;
  /** The next `times` calls to `method` answer 429 with Retry-After. */
  rateLimit(method: string, retryAfterSeconds: number, times?: number): void;
  /** The bot is not a member of `channel`: posting there fails with not_in_channel. */
  excludeBotFrom(channel: string): void;
  /** chat.startStream/appendStream/stopStream answer unknown_method (older workspaces). */
  disableStreaming(): void;
  /** users.info reports these users as workspace admins (`is_admin`). */
  makeAdmin(user: string): void;
  /** The permalink chat.getPermalink gives for a message. */
  permalink(channel: string, ts: string): string;
  /** Delays every Web API answer by `ms` (a slow or distant Slack). */
  setLatency(ms: number): void;
  responseURL(id: string): string;
  /** Socket Mode: the app-level token, and envelope ids the client has acknowledged. */
  readonly appToken: string;
  readonly acks: { envelope_id: string; payload?: unknown }[];
  /** Resolves once a Socket Mode client has connected and been sent `hello`. */
  socketConnected(): Promise<void>;
  /** Sends an Events API envelope over Socket Mode; returns its envelope id. */
  socketEvent(event: Record<string, unknown>): string;
  close(): Promise<void>;
}

function parseArgs(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  if (contentType?.includes('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    // The web client sends objects and arrays (blocks, metadata) as JSON strings in forms.
    args[key] = /^[[{]/.test(value) ? safeJson(value) : value;
  }
  return args;
}

function safeJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const token = options.token ?? 'xoxb-fake-token-for-tests';
  const botUserId = options.botUserId ?? 'UBOT';
  const botId = options.botId ?? 'BBOT';
  const teamId = options.teamId ?? 'T0001';
  const scopes = options.scopes ?? [
    'app_mentions:read',
    'channels:history',
    'groups:history',
    'im:history',
    'chat:write',
    'commands',
    'assistant:write',
    'users:read',
  ];
  const appToken = options.appToken ?? 'xapp-fake-app-token-for-tests';
  const acks: { envelope_id: string; payload?: unknown }[] = [];
  const sockets = new Set<WebSocket>();
  let connectedResolvers: (() => void)[] = [];
  let envelopes = 0;
  const calls: SlackCall[] = [];
  const listeners = new Set<(call: SlackCall) => void>();
  const responses = new Map<string, unknown[]>();
  const channels = new Map<string, FakeMessage[]>();
  const limited = new Map<string, { retryAfter: number; times: number }>();
  const excluded = new Set<string>();
  let streaming = true;
  let latencyMs = 0;
  const admins = new Set<string>();
  const permalink = (ch: string, ts: string) =>
    `https://fake.slack.com/archives/${ch}/p${ts.replace('.', '')}`;
  let clock = 1_700_000_000;
  const nextTs = () => `${++clock}.000100`;
  const channel = (id: string) => {
    let list = channels.get(id);
    if (!list) {
      list = [];
      channels.set(id, list);
    }
    return list;
  };
  const find = (ch: string, ts: string) => channel(ch).find((m) => m.ts === ts);

  type Reply = Record<string, unknown> & { ok: boolean };
  function handle(method: string, args: Record<string, unknown>): Reply {
    const ch = String(args.channel ?? args.channel_id ?? '');
    const posting = ['chat.postMessage', 'chat.startStream', 'chat.postEphemeral'].includes(method);
    if (posting && excluded.has(ch)) return { ok: false, error: 'not_in_channel' };
    if (method.startsWith('chat.') && method.includes('Stream') && !streaming) {
      return { ok: false, error: 'unknown_method' };
    }
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: 'https://fake.slack.com/',
          team: 'Fake',
          user: 'ragbot',
          team_id: teamId,
          user_id: botUserId,
          bot_id: botId,
        };
      case 'chat.postMessage':
      case 'chat.startStream': {
        const message: FakeMessage = {
          ts: nextTs(),
          text: String(args.text ?? args.markdown_text ?? ''),
          user: botUserId,
          bot_id: botId,
          ...(args.thread_ts ? { thread_ts: String(args.thread_ts) } : {}),
          ...(args.blocks ? { blocks: args.blocks as unknown[] } : {}),
          ...(args.metadata ? { metadata: args.metadata as FakeMessage['metadata'] } : {}),
        };
        channel(ch).push(message);
        return { ok: true, channel: ch, ts: message.ts, message };
      }
      case 'chat.appendStream': {
        const message = find(ch, String(args.ts));
        if (!message) return { ok: false, error: 'message_not_found' };
        message.text += String(args.markdown_text ?? '');
        return { ok: true, channel: ch, ts: message.ts };
      }
      case 'chat.stopStream':
      case 'chat.update': {
        const message = find(ch, String(args.ts));
        if (!message) return { ok: false, error: 'message_not_found' };
        if (method === 'chat.update') message.text = String(args.text ?? '');
        else if (args.markdown_text) message.text += String(args.markdown_text);
        if (args.blocks) message.blocks = args.blocks as unknown[];
        if (args.metadata) message.metadata = args.metadata as FakeMessage['metadata'];
        return { ok: true, channel: ch, ts: message.ts, message };
      }
      case 'chat.postEphemeral':
        return { ok: true, message_ts: nextTs() };
      case 'assistant.threads.setStatus':
        return { ok: true };
      case 'users.info': {
        const id = String(args.user ?? '');
        if (!/^[UW][A-Z0-9]+$/.test(id)) return { ok: false, error: 'user_not_found' };
        const admin = admins.has(id);
        return {
          ok: true,
          user: {
            id,
            team_id: teamId,
            name: `user-${id.toLowerCase()}`,
            is_admin: admin,
            is_owner: false,
            is_primary_owner: false,
            is_bot: false,
          },
        };
      }
      case 'chat.getPermalink': {
        const ts = String(args.message_ts ?? '');
        if (!find(ch, ts)) return { ok: false, error: 'message_not_found' };
        return { ok: true, channel: ch, permalink: permalink(ch, ts) };
      }
      case 'conversations.replies': {
        const root = String(args.ts);
        const thread = channel(ch).filter((m) => m.ts === root || m.thread_ts === root);
        return { ok: true, messages: thread, has_more: false };
      }
      case 'conversations.history': {
        const top = channel(ch).filter((m) => !m.thread_ts || m.thread_ts === m.ts);
        return {
          ok: true,
          messages: [...top].reverse().slice(0, Number(args.limit ?? 100)),
          has_more: false,
        };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  const server: LoopbackServer = await startLoopbackServer(async (req, res, raw) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path.startsWith('/respond/')) {
      const id = path.slice('/respond/'.length);
      responses.set(id, [...(responses.get(id) ?? []), JSON.parse(raw || '{}')]);
      sendJson(res, 200, { ok: true });
      return;
    }
    const method = path.replace(/^\/api\//, '');
    const args = parseArgs(raw, req.headers['content-type']);
    const auth = req.headers.authorization ?? (args.token ? `Bearer ${String(args.token)}` : '');
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    const call = { method, args, at: Date.now() };
    calls.push(call);
    for (const listener of listeners) listener(call);
    const limit = limited.get(method);
    if (limit && limit.times > 0) {
      limit.times -= 1;
      sendJson(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(limit.retryAfter) });
      return;
    }
    if (method === 'apps.connections.open') {
      sendJson(
        res,
        200,
        auth === `Bearer ${appToken}`
          ? { ok: true, url: `${server.url.replace('http', 'ws')}/socket` }
          : { ok: false, error: 'invalid_auth' },
      );
      return;
    }
    if (auth !== `Bearer ${token}`) {
      sendJson(res, 200, { ok: false, error: 'invalid_auth' });
      return;
    }
    sendJson(res, 200, handle(method, args), { 'x-oauth-scopes': scopes.join(',') });
  });

  // Socket Mode: Slack's WebSocket, saying hello, sending envelopes and taking acks.
  const wss = new WebSocketServer({ server: server.server, path: '/socket' });
  wss.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('message', (data) =>
      acks.push(JSON.parse(String(data)) as { envelope_id: string; payload?: unknown }),
    );
    socket.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0001' } }));
    for (const resolve of connectedResolvers) resolve();
    connectedResolvers = [];
  });

  return {
    apiURL: `${server.url}/api/`,
    url: server.url,
    token,
    botUserId,
    botId,
    teamId,
    calls,
    responses,
    callsTo: (method) => calls.filter((call) => call.method === method),
    onCall(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    answerEnd: (ch) =>
      calls.find(
        (c) =>
          c.args.channel === ch &&
          /stopStream|update|postMessage/.test(c.method) &&
          /feedback_up|:warning:/.test(JSON.stringify(c.args)),
      ),
    nextAnswerText: (ch) =>
      new Promise<void>((resolve) => {
        const listener = (call: SlackCall) => {
          const text =
            (call.method === 'chat.appendStream' && call.args.markdown_text) ||
            call.method === 'chat.stopStream';
          if (call.args.channel === ch && text) {
            listeners.delete(listener);
            resolve();
          }
        };
        listeners.add(listener);
      }),
    messages: (ch) => channel(ch),
    addUserMessage(ch, user, text, threadTs) {
      const ts = nextTs();
      channel(ch).push({ ts, text, user, ...(threadTs ? { thread_ts: threadTs } : {}) });
      return ts;
    },
    rateLimit(method, retryAfter, times = 1) {
      limited.set(method, { retryAfter, times });
    },
    excludeBotFrom: (ch) => {
      excluded.add(ch);
    },
    disableStreaming: () => {
      streaming = false;
    },
    makeAdmin: (user) => {
      admins.add(user);
    },
    permalink,
    setLatency: (ms) => {
      latencyMs = ms;
    },
    responseURL: (id) => `${server.url}/respond/${id}`,
    appToken,
    acks,
    socketConnected: () =>
      sockets.size > 0 ? Promise.resolve() : new Promise<void>((resolve) => connectedResolvers.push(resolve)),
    socketEvent(event) {
      const envelopeId = `envelope-${++envelopes}`;
      const payload = JSON.parse(eventEnvelope(event, teamId)) as Record<string, unknown>;
      const message = JSON.stringify({
        envelope_id: envelopeId,
        type: 'events_api',
        payload,
        accepts_response_payload: false,
        retry_attempt: 0,
        retry_reason: '',
      });
      for (const socket of sockets) socket.send(message);
      return envelopeId;
    },
    async close() {
      for (const socket of sockets) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await server.close();
    },
  };
}

/** Slack's v0 request signature: HMAC-SHA256 of `v0:<timestamp>:<body>` with the signing secret. */
export function signSlackRequest(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)) {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return { 'x-slack-signature': signature, 'x-slack-request-timestamp': String(timestamp) };
}

export interface SendOptions {
  readonly secret: string;
  /** Override the signature (bad signature tests). */
  readonly signature?: string;
  /** Seconds to shift the timestamp by (stale request tests). */
  readonly ageSeconds?: number;
  readonly retryNum?: number;
}

/** Posts a signed request to Bolt's receiver the way Slack does. */
export async function sendToBolt(
  url: string,
  body: string,
  contentType: 'application/json' | 'application/x-www-form-urlencoded',
  options: SendOptions,
): Promise<Response> {
  const headers: Record<string, string> = {
    'content-type': contentType,
    ...signSlackRequest(options.secret, body, Math.floor(Date.now() / 1000) - (options.ageSeconds ?? 0)),
  };
  if (options.signature) headers['x-slack-signature'] = options.signature;
  if (options.retryNum !== undefined) {
    headers['x-slack-retry-num'] = String(options.retryNum);
    headers['x-slack-retry-reason'] = 'http_timeout';
  }
  return fetch(url, { method: 'POST', headers, body });
}

let eventCounter = 0;

/** An Events API envelope for `event`. */
export function eventEnvelope(event: Record<string, unknown>, teamId = 'T0001', eventId?: string): string {
  return JSON.stringify({
    token: 'legacy',
    team_id: teamId,
    api_app_id: 'A0001',
    type: 'event_callback',
    event_id: eventId ?? `Ev${Date.now()}${++eventCounter}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: teamId, user_id: 'UBOT', is_bot: true }],
    event,
  });
}

/** A slash command as Slack posts it (form-encoded); `/ask` unless `command` says otherwise. */
export function slashCommandBody(fields: {
  text: string;
  user_id: string;
  channel_id: string;
  response_url: string;
  command?: string;
}) {
  return new URLSearchParams({
    token: 'legacy',
    team_id: 'T0001',
    team_domain: 'fake',
    channel_name: 'general',
    user_name: 'asker',
    command: '/ask',
    api_app_id: 'A0001',
    trigger_id: `trigger-${++eventCounter}`,
    ...fields,
  }).toString();
}

/** A message shortcut as Slack posts it (`message_action`, form-encoded `payload`). */
export function messageShortcutBody(fields: {
  callback_id: string;
  user: string;
  channel: string;
  message: { ts: string; thread_ts?: string; text: string; user?: string };
  response_url: string;
}): string {
  return new URLSearchParams({
    payload: JSON.stringify({
      type: 'message_action',
      token: 'legacy',
      action_ts: `${Date.now() / 1000}`,
      team: { id: 'T0001', domain: 'fake' },
      user: { id: fields.user, name: `user-${fields.user.toLowerCase()}`, team_id: 'T0001' },
      channel: { id: fields.channel, name: 'general' },
      is_enterprise_install: false,
      callback_id: fields.callback_id,
      trigger_id: `trigger-${++eventCounter}`,
      response_url: fields.response_url,
      message_ts: fields.message.ts,
      message: { type: 'message', ...fields.message },
    }),
  }).toString();
}

/** An interactivity payload (button click) as Slack posts it. */
export function blockActionBody(payload: Record<string, unknown>): string {
  return new URLSearchParams({
    payload: JSON.stringify({ type: 'block_actions', team: { id: 'T0001' }, ...payload }),
  }).toString();
}
