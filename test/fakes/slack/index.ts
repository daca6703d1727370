/**
 * A loopback fake of the Slack Web API (`POST /api/<method>`, form or JSON bodies, Bearer
 * token, the `{ok, error}` envelope) with the methods the bot uses, a message store so
 * `conversations.replies` sees what was posted (as Slack answers it: a parent's ts gives the
 * thread, parent first, with `reply_count`, `reply_users` and `latest_reply`; a reply's ts that
 * reply alone; `oldest`/`latest`/`inclusive` and cursor pages; metadata only with
 * `include_all_metadata`),
 * `response_url` endpoints for slash
 * commands, switchable 429 + Retry-After and `not_in_channel`, and chat streaming that can
 * be turned off. Plus helpers that send correctly (or badly) signed requests to Bolt.
 */
import { createHmac } from 'node:crypto';
import { type WebSocket, WebSocketServer } from 'ws';
import { type LoopbackServer, sendJson, startLoopbackServer } from '../http-server.js';
import { FakeOAuth, type FakeOAuthOptions, type FakeWorkspace } from './oauth.js';

export type { FakeWorkspace } from './oauth.js';

export interface SlackCall {
  readonly method: string;
  readonly args: Record<string, unknown>;
  readonly at: number;
  /** True when the fake answered this call with 429 + Retry-After. */
  rateLimited?: boolean;
  /** The token the call was made with (Bearer header or `token` argument), if any. */
  readonly token?: string;
}

export interface FakeMessage {
  readonly ts: string;
  thread_ts?: string;
  text: string;
  user?: string;
  bot_id?: string;
  subtype?: string;
  files?: FakeSlackFile[];
  blocks?: unknown[];
  metadata?: { event_type: string; event_payload?: Record<string, unknown> };
  /** Opened with chat.startStream and not stopped yet. */
  streaming?: boolean;
}

export interface FakeEphemeral {
  readonly user: string;
  readonly thread_ts?: string;
  readonly text: string;
  readonly blocks?: unknown[];
}

export interface FakeView {
  readonly id: string;
  /** How it was shown: a modal opened from a trigger, or a user's Home tab. */
  readonly via: 'views.open' | 'views.publish' | 'views.update';
  readonly userId?: string;
  /** The trigger a modal was opened with (Slack accepts each trigger once). */
  readonly triggerId?: string;
  readonly view: Record<string, unknown>;
}

/** A file object as Slack puts it on messages and events. */
export interface FakeSlackFile {
  readonly id: string;
  readonly name: string;
  readonly title: string;
  readonly mimetype: string;
  readonly filetype: string;
  readonly size: number;
  readonly mode: string;
  readonly url_private: string;
  readonly url_private_download: string;
}

export interface FakeFileFields {
  readonly name: string;
  readonly content: string | Uint8Array;
  readonly mimetype?: string;
  readonly filetype?: string;
  /** The size the file object claims (default: the real size). */
  readonly declaredSize?: number;
  /** The download answers this status instead of the file. */
  readonly failWith?: number;
}

/** One request to a file's url_private_download. */
export interface FileDownload {
  readonly fileId: string;
  /** Whether it carried the bot token as a Bearer token. */
  readonly authorized: boolean;
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
  /** An app installed by OAuth: its credentials and the workspaces that can install it. */
  readonly oauth?: FakeOAuthOptions;
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
  /** Ephemeral messages posted in a channel (chat.postEphemeral), oldest first. */
  ephemerals(channel: string): FakeEphemeral[];
  /** Views opened (views.open) and published (views.publish), newest last. */
  readonly views: FakeView[];
  /** Adds a message as if a user had posted it; returns its ts. */
  addUserMessage(
    channel: string,
    user: string,
    text: string,
    threadTs?: string,
    files?: FakeSlackFile[],
  ): string;
  /** Moves the fake's clock on: the next message's ts is this many seconds later (a quiet spell). */
  passTime(seconds: number): void;
  /** Uploads a file: served at its url_private_download to requests with the bot token. */
  addFile(fields: FakeFileFields): FakeSlackFile;
  /** Every request for a file's bytes. */
  readonly downloads: FileDownload[];
  /** The next `times` calls to `method` answer 429 with Retry-After. */
  rateLimit(method: string, retryAfterSeconds: number, times?: number): void;
  /** The bot is not a member of `channel`: posting there fails with not_in_channel. */
  excludeBotFrom(channel: string): void;
  /**
   * conversations.replies gives at most this many messages a page (1,000 by default; 15 for
   * apps distributed outside the Marketplace, as Slack documents).
   */
  capRepliesPage(messages: number): void;
  /** chat.startStream/appendStream/stopStream answer unknown_method (older workspaces). */
  disableStreaming(): void;
  /**
   * Slack ends every open stream, as it does some minutes after a stream started (or once it has
   * been idle): their messages keep what was streamed, refuse further appends and stops, and may
   * be edited with chat.update.
   */
  closeStreams(): void;
  /** users.info reports these users as workspace admins (`is_admin`). */
  makeAdmin(user: string): void;
  /**
   * A user group (usergroups.list) of the fake's workspace, or of `teamId`'s (OAuth); `disabled`
   * as one deleted. Returns its id.
   */
  addUserGroup(handle: string, options?: { id?: string; disabled?: boolean; teamId?: string }): string;
  /**
   * conversations.info describes the channel as private (`is_private`), or as shared with
   * another organisation (Slack Connect: `is_shared`, `is_ext_shared`); others are public.
   */
  setChannelKind(channel: string, kind: 'private' | 'shared'): void;
  /** The permalink chat.getPermalink gives for a message. */
  permalink(channel: string, ts: string): string;
  /** Delays every Web API answer by `ms` (a slow or distant Slack). */
  setLatency(ms: number): void;
  /**
   * The next `count` calls to `method` are answered together, once the last of them has
   * arrived: two handlers racing through the same call resume side by side.
   */
  gate(method: string, count: number): void;
  responseURL(id: string): string;
  /**
   * Who a posted message would notify, as Slack reads its text: `user:U…`, `subteam:S…`,
   * `channel`, `here`, `everyone`. Empty for a message that pings no one.
   */
  pings(message: Pick<FakeMessage, 'text'>): string[];
  /** Socket Mode: the app-level token, and envelope ids the client has acknowledged. */
  readonly appToken: string;
  readonly acks: { envelope_id: string; payload?: unknown }[];
  /** The OAuth side (authorize page, oauth.v2.access), when `options.oauth` was given. */
  readonly oauth: FakeOAuth | undefined;
  /** Resolves once a Socket Mode client has connected and been sent `hello`. */
  socketConnected(): Promise<void>;
  /** Sends an Events API envelope over Socket Mode; returns its envelope id. */
  socketEvent(event: Record<string, unknown>): string;
  close(): Promise<void>;
}

/**
 * The text a streaming call carries: `markdown_text`, and the text of any markdown_text chunks
 * (Slack's ChatStreamer sends `chunks` instead).
 */
/** Slack's limit on `markdown_text` per call and on a `markdown` block's text (12,000 each). */
const MARKDOWN_LIMIT = 12_000;

/**
 * The error Slack gives a message call over its documented sizes: `markdown_text` over 12,000
 * characters (chat.postMessage, startStream, appendStream, stopStream) and markdown blocks whose
 * text adds up to more than 12,000 in one payload.
 */
function documentedLimitBroken(method: string, args: Record<string, unknown>): string | undefined {
  if (!method.startsWith('chat.')) return undefined;
  if (typeof args.markdown_text === 'string' && args.markdown_text.length > MARKDOWN_LIMIT)
    return 'msg_too_long';
  const blocks = Array.isArray(args.blocks) ? (args.blocks as { type?: string; text?: unknown }[]) : [];
  const markdown = blocks
    .filter((block) => block.type === 'markdown')
    .reduce((sum, block) => sum + (typeof block.text === 'string' ? block.text.length : 0), 0);
  return markdown > MARKDOWN_LIMIT ? 'invalid_blocks' : undefined;
}

function streamedText(args: Record<string, unknown>): string {
  const chunks = Array.isArray(args.chunks) ? (args.chunks as { type?: string; text?: string }[]) : [];
  return (
    String(args.markdown_text ?? '') +
    chunks
      .filter((chunk) => chunk.type === 'markdown_text')
      .map((chunk) => chunk.text ?? '')
      .join('')
  );
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

/** Slack ts order (whole seconds, then the six-digit fraction), as the API compares them. */
function tsParts(ts: string): [bigint, bigint] {
  const [whole = '0', fraction = ''] = ts.split('.');
  return [BigInt(whole || '0'), BigInt(fraction.padEnd(6, '0').slice(0, 6) || '0')];
}
const tsAfter = (a: string, b: string) => {
  const [as, af] = tsParts(a);
  const [bs, bf] = tsParts(b);
  return as !== bs ? as > bs : af > bf;
};
const tsEqual = (a: string, b: string) => !tsAfter(a, b) && !tsAfter(b, a);

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
    'files:read',
    'users:read',
    'reactions:read',
    'channels:read',
    'usergroups:read',
  ];
  const appToken = options.appToken ?? 'xapp-fake-app-token-for-tests';
  const oauth = options.oauth ? new FakeOAuth(options.oauth) : undefined;
  const home: FakeWorkspace = { teamId, teamName: 'Fake', botUserId, botId };
  /** Which workspace and bot a token speaks for: the configured one, or one installed by OAuth. */
  const identity = (bearer: string): FakeWorkspace | undefined =>
    bearer === token ? home : oauth?.identity(bearer);
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
  let repliesPageCap = 1_000;
  const channelKinds = new Map<string, 'private' | 'shared'>();
  const ephemerals = new Map<string, FakeEphemeral[]>();
  const views: FakeView[] = [];
  let viewIds = 0;
  const showView = (via: FakeView['via'], args: Record<string, unknown>): Reply => {
    const view = args.view as Record<string, unknown> | undefined;
    if (!view || typeof view.type !== 'string') return { ok: false, error: 'invalid_arguments' };
    // Slack accepts a trigger once, within 3 seconds of the click that made it.
    const trigger = args.trigger_id ? String(args.trigger_id) : undefined;
    if (via === 'views.open' && (!trigger || views.some((v) => v.triggerId === trigger))) {
      return { ok: false, error: 'invalid_trigger_id' };
    }
    if (via === 'views.publish' && (!args.user_id || view.type !== 'home')) {
      return { ok: false, error: 'invalid_arguments' };
    }
    const shown: FakeView = {
      id: `V${String(++viewIds).padStart(6, '0')}`,
      via,
      ...(args.user_id ? { userId: String(args.user_id) } : {}),
      ...(via === 'views.open' && trigger ? { triggerId: trigger } : {}),
      view,
    };
    views.push(shown);
    return { ok: true, view: { id: shown.id, ...view } };
  };
  const files = new Map<
    string,
    { content: Uint8Array; mimetype: string; failWith?: number; object?: FakeSlackFile }
  >();
  const downloads: FileDownload[] = [];
  let fileCounter = 0;
  let streaming = true;
  let latencyMs = 0;
  const gates = new Map<string, { left: number; open: Promise<void>; release: () => void }>();
  const admins = new Set<string>();
  const userGroups: { id: string; handle: string; name: string; date_delete: number; team: string }[] = [];
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
  function handle(method: string, args: Record<string, unknown>, who: FakeWorkspace): Reply {
    const ch = String(args.channel ?? args.channel_id ?? '');
    const posting = ['chat.postMessage', 'chat.startStream', 'chat.postEphemeral'].includes(method);
    if (posting && excluded.has(ch)) return { ok: false, error: 'not_in_channel' };
    if (method.startsWith('chat.') && method.includes('Stream') && !streaming) {
      return { ok: false, error: 'unknown_method' };
    }
    const overLimit = documentedLimitBroken(method, args);
    if (overLimit) return { ok: false, error: overLimit };
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          // Each workspace its own address: the home workspace "Fake" is https://fake.slack.com/.
          url: `https://${who.teamName.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.slack.com/`,
          team: who.teamName,
          user: 'ragbot',
          team_id: who.teamId,
          user_id: who.botUserId,
          bot_id: who.botId,
        };
      case 'chat.postMessage':
      case 'chat.startStream': {
        const message: FakeMessage = {
          ...(method === 'chat.startStream' ? { streaming: true } : {}),
          ts: nextTs(),
          text:
            method === 'chat.startStream'
              ? streamedText(args)
              : String(args.text ?? args.markdown_text ?? ''),
          user: who.botUserId,
          bot_id: who.botId,
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
        if (!message.streaming) return { ok: false, error: 'message_not_in_streaming_state' };
        message.text += streamedText(args);
        return { ok: true, channel: ch, ts: message.ts };
      }
      case 'chat.stopStream':
      case 'chat.update': {
        const message = find(ch, String(args.ts));
        if (!message) return { ok: false, error: 'message_not_found' };
        // As Slack: an open stream cannot be edited, and a closed one cannot be stopped.
        if (method === 'chat.update' && message.streaming)
          return { ok: false, error: 'streaming_state_conflict' };
        if (method === 'chat.stopStream' && !message.streaming)
          return { ok: false, error: 'message_not_in_streaming_state' };
        if (method === 'chat.update') message.text = String(args.text ?? '');
        else message.text += streamedText(args);
        if (method === 'chat.stopStream') message.streaming = false;
        if (args.blocks) message.blocks = args.blocks as unknown[];
        if (args.metadata) message.metadata = args.metadata as FakeMessage['metadata'];
        return { ok: true, channel: ch, ts: message.ts, message };
      }
      case 'chat.postEphemeral': {
        if (!args.user) return { ok: false, error: 'user_not_in_channel' };
        const list = ephemerals.get(ch) ?? [];
        list.push({
          user: String(args.user),
          text: String(args.text ?? ''),
          ...(args.thread_ts ? { thread_ts: String(args.thread_ts) } : {}),
          ...(args.blocks ? { blocks: args.blocks as unknown[] } : {}),
        });
        ephemerals.set(ch, list);
        return { ok: true, message_ts: nextTs() };
      }
      case 'chat.getPermalink': {
        const message = find(ch, String(args.message_ts));
        if (!message) return { ok: false, error: 'message_not_found' };
        return { ok: true, channel: ch, permalink: permalink(ch, message.ts) };
      }
      case 'assistant.threads.setStatus':
      case 'assistant.threads.setTitle':
      case 'assistant.threads.setSuggestedPrompts':
        // Slack requires the assistant thread's channel and thread on each.
        return args.channel_id && args.thread_ts ? { ok: true } : { ok: false, error: 'invalid_arguments' };
      case 'views.open':
      case 'views.publish':
      case 'views.update':
        return showView(method, args);
      case 'files.info': {
        const file = files.get(String(args.file))?.object;
        return file ? { ok: true, file } : { ok: false, error: 'file_not_found' };
      }
      case 'conversations.info': {
        if (!scopes.includes('channels:read'))
          return { ok: false, error: 'missing_scope', needed: 'channels:read' };
        const kind = channelKinds.get(ch);
        const im = ch.startsWith('D');
        // A private channel is invisible to a bot that is not in it.
        if (kind === 'private' && excluded.has(ch)) return { ok: false, error: 'channel_not_found' };
        return {
          ok: true,
          channel: {
            id: ch,
            name: `channel-${ch.toLowerCase()}`,
            is_channel: !im,
            is_group: false,
            is_im: im,
            is_mpim: false,
            is_private: kind === 'private' || im,
            is_shared: kind === 'shared',
            is_ext_shared: kind === 'shared',
            is_org_shared: false,
            is_archived: false,
            // The bot is in every channel but those it was excluded from.
            is_member: !excluded.has(ch),
          },
        };
      }
      case 'usergroups.list': {
        if (!scopes.includes('usergroups:read'))
          return { ok: false, error: 'missing_scope', needed: 'usergroups:read' };
        const listed = args.include_disabled === true || args.include_disabled === 'true';
        return {
          ok: true,
          usergroups: userGroups
            .filter((group) => group.team === who.teamId && (listed || group.date_delete === 0))
            .map(({ team, ...group }) => ({ ...group, team_id: team, is_usergroup: true })),
        };
      }
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
      case 'conversations.replies': {
        if (excluded.has(ch)) return { ok: false, error: 'not_in_channel' };
        // Message metadata comes back only when asked for (include_all_metadata), as on Slack.
        const withMetadata = args.include_all_metadata === true || args.include_all_metadata === 'true';
        const shown = (m: FakeMessage): FakeMessage => {
          if (withMetadata || !m.metadata) return m;
          const { metadata: _hidden, ...rest } = m;
          return rest;
        };
        const asked = find(ch, String(args.ts));
        // A reply's ts gives that reply alone (its thread_ts names the parent), as Slack does;
        // a parent's gives the thread, parent first.
        const root = asked?.thread_ts ?? String(args.ts);
        if (asked && root !== asked.ts) {
          const parent = find(ch, root);
          return {
            ok: true,
            messages: [{ ...shown(asked), ...(parent?.user ? { parent_user_id: parent.user } : {}) }],
            has_more: false,
          };
        }
        const replies = channel(ch).filter((r) => r.thread_ts === root && r.ts !== root);
        const parentOf = (m: FakeMessage) =>
          replies.length > 0
            ? {
                ...shown(m),
                thread_ts: root,
                reply_count: replies.length,
                reply_users: [...new Set(replies.map((r) => r.user ?? r.bot_id ?? ''))].filter(Boolean),
                latest_reply: replies.at(-1)!.ts,
              }
            : shown(m);
        // A time range (`oldest`, `latest`, both exclusive unless `inclusive`) narrows the
        // replies; the parent comes first whatever the range, as Slack gives it.
        const inclusive = args.inclusive === true || args.inclusive === 'true';
        const oldest = args.oldest !== undefined ? String(args.oldest) : undefined;
        const latest = args.latest !== undefined ? String(args.latest) : undefined;
        const inRange = (ts: string) =>
          (oldest === undefined || tsAfter(ts, oldest) || (inclusive && tsEqual(ts, oldest))) &&
          (latest === undefined || tsAfter(latest, ts) || (inclusive && tsEqual(ts, latest)));
        const parent = channel(ch).find((m) => m.ts === root);
        const thread = [
          ...(parent ? [parentOf(parent)] : []),
          ...replies.filter((m) => inRange(m.ts)).map(shown),
        ];
        // Oldest first, a page at a time: the cursor is where the next page starts (opaque to
        // the caller), and has_more with response_metadata.next_cursor says more follow.
        const limit = Math.min(Number(args.limit ?? repliesPageCap), repliesPageCap);
        const from = args.cursor ? Number(Buffer.from(String(args.cursor), 'base64').toString('utf8')) : 0;
        const page = thread.slice(from, from + limit);
        const next = from + limit < thread.length ? Buffer.from(String(from + limit)).toString('base64') : '';
        return {
          ok: true,
          messages: page,
          has_more: next !== '',
          response_metadata: { next_cursor: next },
        };
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
    if (oauth && path === '/oauth/v2/authorize') {
      const page = oauth.authorize(new URL(req.url ?? '', server.url).searchParams);
      res.writeHead(
        page.status,
        page.location ? { location: page.location } : { 'content-type': 'text/plain' },
      );
      res.end(page.body ?? '');
      return;
    }
    // url_private_download: the bytes for the bot token; Slack's sign-in page for anyone else.
    const fileMatch = /^\/files-pri\/[^/]+-(F\w+)\/download\//.exec(path);
    if (fileMatch) {
      const fileId = fileMatch[1]!;
      const authorized = req.headers.authorization === `Bearer ${token}`;
      downloads.push({ fileId, authorized });
      const file = files.get(fileId);
      if (!file) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      } else if (file.failWith) {
        res.writeHead(file.failWith, { 'content-type': 'text/plain' }).end('Error');
      } else if (!authorized) {
        res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
          .end('<html>Sign in to Slack</html>');
      } else {
        res.writeHead(200, { 'content-type': file.mimetype, 'content-length': file.content.byteLength });
        res.end(file.content);
      }
      return;
    }
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
    const gate = gates.get(method);
    if (gate) {
      gate.left -= 1;
      if (gate.left === 0) {
        gates.delete(method);
        gate.release();
      }
      await gate.open;
    }
    const bearer = auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
    const call: SlackCall = { method, args, at: Date.now(), ...(bearer ? { token: bearer } : {}) };
    calls.push(call);
    for (const listener of listeners) listener(call);
    const limit = limited.get(method);
    if (limit && limit.times > 0) {
      limit.times -= 1;
      call.rateLimited = true;
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
    if (oauth && method === 'oauth.v2.access') {
      sendJson(res, 200, oauth.exchange(args, req.headers.authorization));
      return;
    }
    const who = bearer ? identity(bearer) : undefined;
    if (!who) {
      sendJson(res, 200, { ok: false, error: 'invalid_auth' });
      return;
    }
    sendJson(res, 200, handle(method, args, who), { 'x-oauth-scopes': scopes.join(',') });
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
            (/chat\.(startStream|appendStream)/.test(call.method) && streamedText(call.args)) ||
            call.method === 'chat.stopStream' ||
            // A first text posted as a message (blocks), or a whole reply in one (markdown_text).
            (call.method === 'chat.postMessage' && (call.args.blocks || call.args.markdown_text));
          if (call.args.channel === ch && text) {
            listeners.delete(listener);
            resolve();
          }
        };
        listeners.add(listener);
      }),
    messages: (ch) => channel(ch),
    ephemerals: (ch) => ephemerals.get(ch) ?? [],
    views,
    addUserMessage(ch, user, text, threadTs, shared) {
      const ts = nextTs();
      channel(ch).push({
        ts,
        text,
        user,
        ...(threadTs ? { thread_ts: threadTs } : {}),
        ...(shared ? { subtype: 'file_share', files: shared } : {}),
      });
      return ts;
    },
    addFile(fields) {
      const id = `F${String(++fileCounter).padStart(6, '0')}`;
      const content = typeof fields.content === 'string' ? Buffer.from(fields.content) : fields.content;
      const mimetype = fields.mimetype ?? 'text/plain';
      files.set(id, { content, mimetype, ...(fields.failWith ? { failWith: fields.failWith } : {}) });
      const download = `${server.url}/files-pri/${teamId}-${id}/download/${encodeURIComponent(fields.name)}`;
      const object: FakeSlackFile = {
        id,
        name: fields.name,
        title: fields.name,
        mimetype,
        filetype: fields.filetype ?? (fields.name.split('.').pop() || 'text'),
        size: fields.declaredSize ?? content.byteLength,
        mode: 'hosted',
        url_private: download.replace('/download/', '/'),
        url_private_download: download,
      };
      files.get(id)!.object = object;
      return object;
    },
    downloads,
    rateLimit(method, retryAfter, times = 1) {
      limited.set(method, { retryAfter, times });
    },
    passTime: (seconds) => {
      clock += Math.max(0, Math.floor(seconds));
    },
    capRepliesPage: (messages) => {
      repliesPageCap = messages;
    },
    excludeBotFrom: (ch) => {
      excluded.add(ch);
    },
    disableStreaming: () => {
      streaming = false;
    },
    closeStreams: () => {
      for (const list of channels.values()) for (const message of list) message.streaming = false;
    },
    makeAdmin: (user) => {
      admins.add(user);
    },
    addUserGroup(handle, options = {}) {
      const id = options.id ?? `S${String(userGroups.length + 1).padStart(8, '0')}`;
      userGroups.push({
        id,
        handle,
        name: handle,
        date_delete: options.disabled ? 1_700_000_000 : 0,
        team: options.teamId ?? teamId,
      });
      return id;
    },
    setChannelKind: (channel, kind) => {
      channelKinds.set(channel, kind);
    },
    permalink,
    setLatency: (ms) => {
      latencyMs = ms;
    },
    gate(method, count) {
      let release!: () => void;
      const open = new Promise<void>((resolve) => {
        release = resolve;
      });
      gates.set(method, { left: count, open, release });
    },
    responseURL: (id) => `${server.url}/respond/${id}`,
    pings: (message) =>
      [
        ...message.text.matchAll(
          /<(@[UW][A-Z0-9]+|!subteam\^[A-Z0-9]+|!channel|!here|!everyone)(?:\|[^>]*)?>/g,
        ),
      ].map(([, token]) =>
        token!.startsWith('@')
          ? `user:${token!.slice(1)}`
          : token!.startsWith('!subteam^')
            ? `subteam:${token!.slice('!subteam^'.length)}`
            : token!.slice(1),
      ),
    appToken,
    acks,
    oauth,
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
export function eventEnvelope(
  event: Record<string, unknown>,
  teamId = 'T0001',
  eventId?: string,
  /** The Enterprise Grid organisation of an org-wide installation the event is delivered through. */
  orgInstall?: string,
): string {
  return JSON.stringify({
    token: 'legacy',
    team_id: teamId,
    ...(orgInstall ? { enterprise_id: orgInstall } : {}),
    api_app_id: 'A0001',
    type: 'event_callback',
    event_id: eventId ?? `Ev${Date.now()}${++eventCounter}`,
    event_time: Math.floor(Date.now() / 1000),
    // An org-wide installation is authorised for the organisation, with no team of its own.
    authorizations: [
      orgInstall
        ? {
            enterprise_id: orgInstall,
            team_id: null,
            user_id: 'UBOT',
            is_bot: true,
            is_enterprise_install: true,
          }
        : { team_id: teamId, user_id: 'UBOT', is_bot: true },
    ],
    event,
  });
}

/** A `reaction_added` or `reaction_removed` event as Slack sends it, for a message's reaction. */
export function reactionEvent(fields: {
  added: boolean;
  user: string;
  reaction: string;
  channel: string;
  ts: string;
  itemUser?: string;
}): Record<string, unknown> {
  return {
    type: fields.added ? 'reaction_added' : 'reaction_removed',
    user: fields.user,
    reaction: fields.reaction,
    ...(fields.itemUser ? { item_user: fields.itemUser } : {}),
    item: { type: 'message', channel: fields.channel, ts: fields.ts },
    event_ts: `${Math.floor(Date.now() / 1000)}.000200`,
  };
}

/** A slash command as Slack posts it (form-encoded); `/ask` unless `command` says otherwise. */
export function slashCommandBody(fields: {
  text: string;
  user_id: string;
  channel_id: string;
  response_url: string;
  command?: string;
  team_id?: string;
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

/** An interactivity payload (button click) as Slack posts it. */
export function blockActionBody(payload: Record<string, unknown>): string {
  return new URLSearchParams({
    payload: JSON.stringify({ type: 'block_actions', team: { id: 'T0001' }, ...payload }),
  }).toString();
}

/** A message shortcut (⋮ More actions on a message) as Slack posts it. */
export function messageShortcutBody(fields: {
  callback_id: string;
  user_id: string;
  channel_id: string;
  message: { ts: string; text: string; user?: string; thread_ts?: string };
  response_url: string;
  team_id?: string;
}): string {
  const team = fields.team_id ?? 'T0001';
  return new URLSearchParams({
    payload: JSON.stringify({
      type: 'message_action',
      token: 'legacy',
      action_ts: String(Date.now() / 1000),
      team: { id: team, domain: 'fake' },
      user: { id: fields.user_id, name: 'asker', team_id: team },
      channel: { id: fields.channel_id, name: 'general' },
      callback_id: fields.callback_id,
      trigger_id: `trigger-${++eventCounter}`,
      message_ts: fields.message.ts,
      message: { type: 'message', ...fields.message },
      response_url: fields.response_url,
    }),
  }).toString();
}

/** A modal's submission as Slack posts it: the view as opened, with the user's input in its state. */
export function viewSubmissionBody(fields: {
  view: Record<string, unknown>;
  user_id: string;
  values: Record<string, Record<string, { type: string; value: string }>>;
}): string {
  return new URLSearchParams({
    payload: JSON.stringify({
      type: 'view_submission',
      team: { id: 'T0001', domain: 'fake' },
      user: { id: fields.user_id, name: 'asker', team_id: 'T0001' },
      api_app_id: 'A0001',
      token: 'legacy',
      trigger_id: `trigger-${++eventCounter}`,
      view: {
        id: `V${++eventCounter}`,
        team_id: 'T0001',
        app_id: 'A0001',
        hash: 'hash',
        ...fields.view,
        state: { values: fields.values },
      },
      response_urls: [],
    }),
  }).toString();
}
