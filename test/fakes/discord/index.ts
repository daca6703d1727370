/**
 * A loopback fake of Discord for the real discord.js client: the REST API under /api/v10
 * (gateway/bot, interaction callbacks, webhook edits of @original and follow-ups, channel
 * messages, threads, history, typing, command registration, users/@me) and a WebSocket
 * gateway (HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats, dispatches). Messages the
 * bot posts are stored so history reads them back; thread creation is dispatched as
 * THREAD_CREATE like Discord does. Interactions: slash commands with subcommands, autocomplete
 * (choices recorded), message context-menu commands, members with chosen permissions and roles;
 * ephemeral messages are kept out of channel history, as on Discord. Faults: 429 with
 * retry_after, 403 Missing Permissions.
 */
import type { IncomingMessage } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';
import { type LoopbackServer, sendJson, startLoopbackServer } from '../http-server.js';

export interface RestCall {
  readonly method: string;
  readonly path: string;
  readonly body: Record<string, unknown> | undefined;
  readonly at: number;
  /** True when the fake answered this call with 429 (discord.js will retry it). */
  rateLimited?: boolean;
}

export interface FakeDiscordMessage {
  id: string;
  channel_id: string;
  guild_id?: string;
  author: {
    id: string;
    username: string;
    bot?: boolean;
    discriminator: string;
    global_name: string | null;
    avatar: null;
  };
  content: string;
  timestamp: string;
  edited_timestamp: string | null;
  tts: boolean;
  mention_everyone: boolean;
  mentions: unknown[];
  mention_roles: string[];
  attachments: unknown[];
  embeds: unknown[];
  components: unknown[];
  pinned: boolean;
  type: number;
  flags: number;
  thread?: unknown;
  webhook_id?: string;
}

/**
 * Where an interaction comes from: the server the bot is in, a DM with the bot, or a
 * user-install context — a DM between users (`private_channel`, context 2) or a server the
 * bot is not in (`foreign_guild`), where the app acts only through the interaction.
 */
export type InteractionPlace = 'guild' | 'bot_dm' | 'private_channel' | 'foreign_guild';
/** A file a user attaches to a message: served from the fake's CDN path. */
export interface FakeAttachmentFields {
  readonly filename: string;
  readonly content: string | Uint8Array;
  readonly contentType?: string;
  /** The size the attachment object claims (default: the real size). */
  readonly declaredSize?: number;
  /** The CDN answers this status instead of the file. */
  readonly failWith?: number;
}

export interface FakeDiscordOptions {
  readonly token?: string;
  readonly applicationId?: string;
  readonly botUserId?: string;
  /** Application flags reported by /applications/@me (Message Content intent bits). */
  readonly applicationFlags?: number;
  /** The server's @everyone permissions (default: an ordinary member's, which may mention every role). */
  readonly everyonePermissions?: bigint;
}

export interface FakeDiscord {
  /** Value for DISCORD_API_URL. */
  readonly apiURL: string;
  readonly token: string;
  readonly applicationId: string;
  readonly botUserId: string;
  readonly guildId: string;
  readonly channelId: string;
  readonly calls: RestCall[];
  callsTo(method: string, pathPattern: RegExp): RestCall[];
  onCall(listener: (call: RestCall) => void): () => void;
  /** Shards that have identified: [shard id, shard count] and intents. */
  readonly identified: { shard: [number, number]; intents: number }[];
  /** Resolves once a client has identified and received READY + GUILD_CREATE. */
  waitForReady(): Promise<void>;
  /** Messages stored in a channel or thread, oldest first. */
  messages(channelId: string): FakeDiscordMessage[];
  /**
   * A user posts a message: stored and dispatched as MESSAGE_CREATE. `webhookId` makes it a
   * webhook's post; `type` a system message (7: member joined, 18: thread created, …).
   */
  userMessage(fields: {
    channelId?: string;
    content: string;
    userId?: string;
    bot?: boolean;
    dm?: boolean;
    webhookId?: string;
    type?: number;
    attachments?: readonly FakeAttachmentFields[];
  }): FakeDiscordMessage;
  /** Every request for an attachment's bytes (paths under /attachments/). */
  readonly cdnRequests: string[];
  /** A user runs /ask: dispatched as INTERACTION_CREATE; returns the interaction id and token. */
  slashAsk(fields: {
    question: string;
    private?: boolean;
    userId?: string;
    dm?: boolean;
    context?: InteractionPlace;
  }): {
    id: string;
    token: string;
  };
  /** Any slash command (options as Discord sends them, subcommands included). */
  slashCommand(fields: InteractionFields & { name: string; options?: unknown[] }): {
    id: string;
    token: string;
  };
  /** A user types in an autocompleted option (`focused: true` on it); `choices(token)` gives the answer. */
  autocomplete(fields: InteractionFields & { name: string; options: unknown[] }): {
    id: string;
    token: string;
  };
  choices(token: string): { name: string; value: string }[] | undefined;
  /** A message context-menu command (Apps → name) on a message. */
  /** Stores a message as if a user had posted it earlier, without dispatching it. */
  addMessage(channelId: string, content: string, userId?: string): FakeDiscordMessage;
  /** Ephemeral messages sent through an interaction's token, in order. */
  ephemeral(token: string): FakeDiscordMessage[];
  /** Every ephemeral message the bot sent, oldest first (kept out of channel history). */
  readonly ephemeralMessages: readonly FakeDiscordMessage[];
  /** The role DISCORD_ADMIN_ROLE tests use, by id and name. */
  readonly adminRole: { readonly id: string; readonly name: string };
  /** A user clicks a button on a message. */
  clickButton(fields: InteractionFields & { customId: string; messageId: string }): {
    id: string;
    token: string;
  };
  /**
   * A user runs a message context command ("Apps → …") on a message: the message is sent
   * resolved in the interaction, as Discord does. With `content`, a message by `authorId` is
   * first added to the place's channel (for places the bot cannot read, such as a user install).
   */
  messageCommand(
    fields: InteractionFields & {
      name: string;
      messageId?: string;
      content?: string;
      authorId?: string;
      /** The channel or thread the message is in, in a server the bot is in. */
      channelId?: string;
    },
  ): { id: string; token: string; messageId: string };
  /** A user submits a modal the bot showed (interaction type 5, MODAL_SUBMIT). */
  submitModal(fields: {
    customId: string;
    values: Record<string, string>;
    userId?: string;
    context?: InteractionPlace;
    channelId?: string;
  }): { id: string; token: string };
  /** Modals the bot opened (interaction callback type 9), by interaction id. */
  readonly modals: { interactionId: string; data: Record<string, unknown> }[];
  /** A forum channel in the server (type 15), with the tags `Solved` and `Bug`. */
  readonly forumChannelId: string;
  /** The forum's tags, by name: their ids. */
  readonly forumTags: Readonly<Record<'Solved' | 'Bug', string>>;
  /**
   * A user adds or removes a reaction on a message: MESSAGE_REACTION_ADD / _REMOVE, sent only
   * to a client that identified with the Guild Message Reactions intent, as Discord does.
   */
  react(fields: {
    added: boolean;
    userId: string;
    channelId: string;
    messageId: string;
    emoji: string;
    roles?: readonly string[];
  }): boolean;
  /** The post's author (or a moderator) sets a forum post's tags: THREAD_UPDATE with `applied_tags`. */
  tagPost(threadId: string, tagIds: readonly string[]): void;
  /**
   * A user opens a forum post: THREAD_CREATE, then its opening message (same id) as MESSAGE_CREATE.
   * `archived`: a post written and archived before the bot connected: nothing is dispatched,
   * and GUILD_CREATE (active threads only) does not carry it, so discord.js has not cached it.
   */
  forumPost(fields: { title: string; content: string; userId?: string; archived?: boolean }): {
    threadId: string;
  };
  /** A channel of a user-install context (a DM between users): the bot can neither read nor post there. */
  readonly privateChannelId: string;
  /** A text channel of the server that @everyone may not view (a team's private channel). */
  readonly hiddenChannelId: string;
  threadsOf(channelId: string): { id: string; name: string; owner_id: string; parent_id: string }[];
  /** A user starts a thread in the channel (dispatched as THREAD_CREATE); returns its id. */
  userThread(fields: { name: string; userId?: string }): string;
  /** The next `times` requests matching `pathPattern` answer 429 with retry_after. */
  rateLimit(pathPattern: RegExp, retryAfterSeconds: number, times?: number): void;
  /** Thread creation answers 403 Missing Permissions (or works again with `false`). */
  denyThreads(denied?: boolean): void;
  /** The interaction's token expires (as after 15 minutes): its webhook answers 401 Invalid Webhook Token. */
  expireInteraction(token: string): void;
  close(): Promise<void>;
}

interface AllowedMentions {
  readonly parse?: readonly string[];
  readonly roles?: readonly string[];
  readonly users?: readonly string[];
}

/**
 * Who a message notifies, as Discord decides it: mentions in the content count only where
 * allowed_mentions permits them (absent, everything is allowed, as on Discord).
 */
function resolveMentions(
  content: string,
  allowed: AllowedMentions | undefined,
  user: (id: string) => FakeDiscordMessage['author'],
) {
  const parse = allowed ? (allowed.parse ?? []) : ['users', 'roles', 'everyone'];
  const userIds = [...content.matchAll(/<@!?(\d+)>/g)].map((m) => m[1]!);
  const roleIds = [...content.matchAll(/<@&(\d+)>/g)].map((m) => m[1]!);
  return {
    mention_everyone: parse.includes('everyone') && /@(everyone|here)/.test(content),
    mentions: userIds
      .filter((id) => parse.includes('users') || allowed?.users?.includes(id))
      .map((id) => user(id)) as unknown[],
    mention_roles: roleIds.filter((id) => parse.includes('roles') || allowed?.roles?.includes(id)),
  };
}
export interface InteractionFields {
  readonly userId?: string;
  /** Where the interaction comes from (default: the server the bot is in). */
  readonly context?: InteractionPlace;
  /** The member's permissions bit set (default: an ordinary member, without Manage Server). */
  readonly permissions?: bigint;
  readonly roles?: readonly string[];
  /** Channel or thread the interaction happens in (default: the guild's text channel). */
  readonly channelId?: string;
}

/** The permissions of an ordinary member in the fake guild: no Manage Server. */
export const MEMBER_PERMISSIONS = 1071698660929n;
export const MANAGE_GUILD = 1n << 5n;

let snowflake = 1_200_000_000_000_000_000n;
const nextId = () => String(++snowflake);

export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const token = options.token ?? 'fake.discord.bot.token';
  const applicationId = options.applicationId ?? '1100000000000000001';
  const botUserId = options.botUserId ?? applicationId;
  const guildId = '1100000000000000002';
  const channelId = '1100000000000000003';
  const forumChannelId = '1100000000000000004';
  const forumTags = { Solved: '1100000000000000051', Bug: '1100000000000000052' } as const;
  const appliedTags = new Map<string, readonly string[]>();
  /** Members' roles as the server knows them (GET /guilds/:id/members/:user). */
  const memberRoles = new Map<string, readonly string[]>();
  const foreignGuildId = '1100000000000000098';
  const foreignChannelId = '1100000000000000099';
  const privateChannelId = '9300000000000000001';
  const hiddenChannelId = '1100000000000000005';
  /** Channels of user-install contexts: Discord answers the bot's own calls there with Missing Access. */
  const unreachable = new Set([privateChannelId, foreignChannelId]);
  const modals: { interactionId: string; data: Record<string, unknown> }[] = [];
  const calls: RestCall[] = [];
  const listeners = new Set<(call: RestCall) => void>();
  const identified: { shard: [number, number]; intents: number }[] = [];
  const channels = new Map<string, FakeDiscordMessage[]>([[channelId, []]]);
  type FakeThread = { id: string; name: string; owner_id: string; parent_id: string; archived?: boolean };
  const threads = new Map<string, FakeThread>();
  const limits: { pattern: RegExp; retryAfter: number; times: number }[] = [];
  const interactions = new Map<
    string,
    { channelId: string; messageId?: string; guild: boolean; acknowledged?: boolean }
  >();
  const cdn = new Map<string, { content: Uint8Array; contentType: string; failWith?: number }>();
  const cdnRequests: string[] = [];
  const autocompleteChoices = new Map<string, { name: string; value: string }[]>();
  const ephemeralByToken = new Map<string, FakeDiscordMessage[]>();
  const ephemeralMessages: FakeDiscordMessage[] = [];
  const adminRole = { id: '1100000000000000444', name: 'KB Editors' };
  let threadsDenied = false;
  const expired = new Set<string>();
  const sockets = new Set<WebSocket>();
  let readyResolvers: (() => void)[] = [];
  let sequence = 0;

  const botUser = {
    id: botUserId,
    username: 'knowledge-bot',
    discriminator: '0',
    global_name: null,
    avatar: null,
    bot: true,
  };
  const user = (id: string, bot = false) => ({
    id,
    username: `user${id.slice(-4)}`,
    discriminator: '0',
    global_name: null,
    avatar: null,
    ...(bot ? { bot } : {}),
  });
  const textChannel = {
    id: channelId,
    type: 0,
    guild_id: guildId,
    name: 'general',
    position: 0,
    permission_overwrites: [],
    parent_id: null,
    nsfw: false,
    topic: null,
    rate_limit_per_user: 0,
    last_message_id: null,
  };
  const hiddenChannel = {
    ...textChannel,
    id: hiddenChannelId,
    name: 'leadership',
    position: 2,
    // @everyone is denied View Channel (1 << 10); only the roles let in could read it.
    permission_overwrites: [{ id: guildId, type: 0, allow: '0', deny: String(1 << 10) }],
  };
  const forumChannel = {
    ...textChannel,
    id: forumChannelId,
    type: 15,
    name: 'help',
    position: 1,
    available_tags: [
      { id: forumTags.Solved, name: 'Solved', moderated: false, emoji_id: null, emoji_name: '✅' },
      { id: forumTags.Bug, name: 'Bug', moderated: false, emoji_id: null, emoji_name: null },
    ],
    default_reaction_emoji: null,
    default_sort_order: null,
    default_forum_layout: 0,
  };
  const threadChannel = (t: FakeThread) => ({
    id: t.id,
    type: 11,
    ...(appliedTags.has(t.id) ? { applied_tags: [...appliedTags.get(t.id)!] } : {}),
    guild_id: guildId,
    parent_id: t.parent_id,
    owner_id: t.owner_id,
    name: t.name,
    last_message_id: null,
    // As Discord counts: the thread's messages, not the one it started from.
    message_count: (channels.get(t.id) ?? []).filter((message) => message.id !== t.id).length,
    member_count: 1,
    rate_limit_per_user: 0,
    flags: 0,
    total_message_sent: 0,
    thread_metadata: {
      archived: t.archived ?? false,
      auto_archive_duration: 1440,
      archive_timestamp: new Date().toISOString(),
      locked: false,
    },
  });
  const store = (id: string) => {
    let list = channels.get(id);
    if (!list) {
      list = [];
      channels.set(id, list);
    }
    return list;
  };
  const makeMessage = (
    channel: string,
    author: FakeDiscordMessage['author'],
    body: Record<string, unknown>,
    guild = true,
  ) => {
    const message: FakeDiscordMessage = {
      id: nextId(),
      channel_id: channel,
      ...(guild ? { guild_id: guildId } : {}),
      author,
      content: String(body.content ?? ''),
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      ...resolveMentions(
        String(body.content ?? ''),
        body.allowed_mentions as AllowedMentions | undefined,
        user,
      ),
      attachments: [],
      embeds: (body.embeds as unknown[]) ?? [],
      components: (body.components as unknown[]) ?? [],
      pinned: false,
      type: 0,
      flags: Number(body.flags ?? 0),
    };
    // Ephemeral messages (flag 64) are seen by one user only and are not part of the history.
    if ((message.flags & 64) !== 0) ephemeralMessages.push(message);
    else store(channel).push(message);
    return message;
  };
  /** Each identified connection's shard id. */
  const shardOf = new Map<WebSocket, number>();
  // As Discord does, a guild's events (and DMs) go to the one shard that owns it: the fake's
  // only guild is on shard 0, so a sharded bot must not see every event on every shard.
  const dispatch = (t: string, d: unknown) => {
    const payload = JSON.stringify({ op: 0, t, s: ++sequence, d });
    for (const socket of sockets) if (shardOf.get(socket) === 0) socket.send(payload);
  };
  const edit = (message: FakeDiscordMessage, body: Record<string, unknown>) => {
    if ('content' in body) message.content = String(body.content ?? '');
    if ('embeds' in body) message.embeds = (body.embeds as unknown[]) ?? [];
    if ('components' in body) message.components = (body.components as unknown[]) ?? [];
    message.edited_timestamp = new Date().toISOString();
    return message;
  };
  const find = (channel: string, id: string) =>
    store(channel).find((m) => m.id === id) ?? ephemeralMessages.find((m) => m.id === id);

  type Reply = { status: number; body?: unknown; headers?: Record<string, string> };
  function rest(
    method: string,
    path: string,
    body: Record<string, unknown> | undefined,
    query: URLSearchParams,
  ): Reply {
    const on = (verb: string, pattern: RegExp) =>
      verb === method || verb === '*' ? pattern.exec(path) : null;
    if (method === 'GET' && path === '/gateway/bot') {
      return {
        status: 200,
        body: {
          url: wsURL,
          shards: 1,
          session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 },
        },
      };
    }
    if (method === 'GET' && path === '/users/@me') return { status: 200, body: botUser };
    if (method === 'GET' && path === '/applications/@me') {
      return {
        status: 200,
        body: {
          id: applicationId,
          name: 'Knowledge Bot',
          flags: options.applicationFlags ?? 1 << 19,
          bot: botUser,
        },
      };
    }
    const m1 = on('PUT', /^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/);
    if (m1) {
      const m = m1;
      return {
        status: 200,
        body: (body as unknown as unknown[]).map((c) => ({
          ...(c as object),
          id: nextId(),
          application_id: m![1],
        })),
      };
    }
    const m2 = on('POST', /^\/interactions\/(\d+)\/([^/]+)\/callback$/);
    if (m2) {
      const m = m2;
      const interaction = interactions.get(m[2]!);
      if (!interaction) return { status: 404, body: { message: 'Unknown interaction', code: 10062 } };
      // An interaction takes one response; later ones go through its webhook, as on Discord.
      if (interaction.acknowledged)
        return { status: 400, body: { message: 'Interaction has already been acknowledged.', code: 40060 } };
      interaction.acknowledged = true;
      const data = (body?.data ?? {}) as Record<string, unknown>;
      if (body?.type === 9) modals.push({ interactionId: m[1]!, data });
      if (body?.type === 8)
        autocompleteChoices.set(m[2]!, (data.choices ?? []) as { name: string; value: string }[]);
      if (body?.type === 5 || body?.type === 4) {
        const message = makeMessage(
          interaction.channelId,
          botUser,
          body.type === 4 ? data : { content: '', flags: data.flags },
          interaction.guild,
        );
        interaction.messageId = message.id;
        if ((message.flags & 64) !== 0) ephemeralByToken.set(m[2]!, [message]);
      }
      return query.get('with_response') === 'true'
        ? { status: 200, body: { interaction: { id: m[1] } } }
        : { status: 204 };
    }
    const webhook = on('*', /^\/webhooks\/\d+\/([^/]+)/);
    if (webhook && expired.has(webhook[1]!))
      return { status: 401, body: { message: 'Invalid Webhook Token', code: 50027 } };
    const m3 = on('*', /^\/webhooks\/(\d+)\/([^/]+)\/messages\/@original$/);
    if (m3) {
      const m = m3;
      const interaction = interactions.get(m[2]!);
      const message = interaction?.messageId ? find(interaction.channelId, interaction.messageId) : undefined;
      if (!interaction || !message) return { status: 404, body: { message: 'Unknown Webhook', code: 10015 } };
      if (method === 'PATCH') return { status: 200, body: edit(message, body ?? {}) };
      return { status: 200, body: message };
    }
    const m4 = on('POST', /^\/webhooks\/(\d+)\/([^/]+)$/);
    if (m4) {
      const m = m4;
      const interaction = interactions.get(m[2]!);
      if (!interaction) return { status: 404, body: { message: 'Unknown Webhook', code: 10015 } };
      const message = makeMessage(interaction.channelId, botUser, body ?? {}, interaction.guild);
      if ((message.flags & 64) !== 0)
        ephemeralByToken.set(m[2]!, [...(ephemeralByToken.get(m[2]!) ?? []), message]);
      return { status: 200, body: message };
    }
    const closed = /^\/channels\/(\d+)/.exec(path);
    if (closed && unreachable.has(closed[1]!))
      return { status: 403, body: { message: 'Missing Access', code: 50001 } };
    const m5 = on('POST', /^\/channels\/(\d+)\/messages\/(\d+)\/threads$/);
    if (m5) {
      const m = m5;
      if (threadsDenied) return { status: 403, body: { message: 'Missing Permissions', code: 50013 } };
      // As on Discord, a thread started from a message shares the message's id, and the
      // message is flagged HAS_THREAD (1 << 5).
      const thread = { id: m[2]!, name: String(body?.name ?? ''), owner_id: botUserId, parent_id: m[1]! };
      const starter = find(m[1]!, m[2]!);
      if (starter) starter.flags |= 1 << 5;
      threads.set(thread.id, thread);
      channels.set(thread.id, []);
      const channel = threadChannel(thread);
      dispatch('THREAD_CREATE', { ...channel, newly_created: true });
      return { status: 201, body: channel };
    }
    const m6 = on('*', /^\/channels\/(\d+)\/messages$/);
    if (m6) {
      const m = m6;
      const id = m[1]!;
      if (method === 'POST')
        return { status: 200, body: makeMessage(id, botUser, body ?? {}, !id.startsWith('9')) };
      const limit = Number(query.get('limit') ?? 50);
      const before = query.get('before');
      let list = [...store(id)];
      if (before) list = list.filter((message) => BigInt(message.id) < BigInt(before));
      return { status: 200, body: list.reverse().slice(0, limit) };
    }
    const m7 = on('*', /^\/channels\/(\d+)\/messages\/(\d+)$/);
    if (m7) {
      const m = m7;
      const message = find(m[1]!, m[2]!) ?? [...channels.values()].flat().find((x) => x.id === m![2]);
      if (!message) return { status: 404, body: { message: 'Unknown Message', code: 10008 } };
      if (method === 'PATCH') return { status: 200, body: edit(message, body ?? {}) };
      return { status: 200, body: message };
    }
    if (on('POST', /^\/channels\/\d+\/typing$/)) return { status: 204 };
    const member = on('GET', /^\/guilds\/(\d+)\/members\/(\d+)$/);
    if (member) {
      return {
        status: 200,
        body: {
          user: user(member[2]!),
          roles: [...(memberRoles.get(member[2]!) ?? [])],
          joined_at: new Date().toISOString(),
          deaf: false,
          mute: false,
          flags: 0,
        },
      };
    }
    const m8 = on('GET', /^\/channels\/(\d+)$/);
    if (m8) {
      const m = m8;
      const thread = threads.get(m[1]!);
      if (thread) return { status: 200, body: threadChannel(thread) };
      if (m[1] === channelId) return { status: 200, body: textChannel };
      if (m[1] === forumChannelId) return { status: 200, body: forumChannel };
      // The fake's DMs and user-install channels have ids starting with 9; any other is a text
      // channel of the server (a digest channel, another channel a test posts in).
      if (!m[1]!.startsWith('9')) return { status: 200, body: { ...textChannel, id: m[1] } };
      return { status: 200, body: { id: m[1], type: 1, recipients: [user('1100000000000000999')] } };
    }
    return { status: 404, body: { message: `404: Not Found (${method} ${path})`, code: 0 } };
  }

  const server: LoopbackServer = await startLoopbackServer(async (req: IncomingMessage, res, raw) => {
    const url = new URL(req.url ?? '/', 'http://x');
    // Discord's CDN: attachments need no token (their URLs are signed).
    if (url.pathname.startsWith('/attachments/')) {
      cdnRequests.push(url.pathname);
      const file = cdn.get(url.pathname);
      if (!file || file.failWith) {
        res.writeHead(file?.failWith ?? 404, { 'content-type': 'text/plain' }).end('Error');
        return;
      }
      res.writeHead(200, { 'content-type': file.contentType, 'content-length': file.content.byteLength });
      res.end(file.content);
      return;
    }
    // discord.js percent-encodes path parts ("@original" as "%40original"), as Discord accepts.
    const path = decodeURIComponent(url.pathname).replace(/^\/api\/v\d+/, '');
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
    const call: RestCall = { method: req.method ?? 'GET', path, body, at: Date.now() };
    calls.push(call);
    for (const listener of listeners) listener(call);
    const needsAuth = !path.startsWith('/interactions/') && !path.startsWith('/webhooks/');
    if (needsAuth && req.headers.authorization !== `Bot ${token}`) {
      sendJson(res, 401, { message: '401: Unauthorized', code: 0 });
      return;
    }
    const limit = limits.find((l) => l.times > 0 && l.pattern.test(path));
    if (limit) {
      limit.times -= 1;
      call.rateLimited = true;
      sendJson(
        res,
        429,
        { message: 'You are being rate limited.', retry_after: limit.retryAfter, global: false },
        {
          'retry-after': String(Math.ceil(limit.retryAfter)),
          'x-ratelimit-limit': '5',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset-after': String(limit.retryAfter),
          'x-ratelimit-bucket': 'fakebucket',
          'x-ratelimit-scope': 'user',
        },
      );
      return;
    }
    const reply = rest(call.method, path, body, url.searchParams);
    if (reply.status === 204) {
      res.writeHead(204).end();
      return;
    }
    sendJson(res, reply.status, reply.body ?? {}, reply.headers ?? {});
  });

  const wss = new WebSocketServer({ server: server.server });
  const wsURL = server.url.replace('http', 'ws');
  wss.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      shardOf.delete(socket);
    });
    socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41_250 } }));
    socket.on('message', (data) => {
      const packet = JSON.parse(String(data)) as { op: number; d: Record<string, unknown> };
      if (packet.op === 1) socket.send(JSON.stringify({ op: 11 }));
      if (packet.op === 2) {
        if (packet.d.token !== token) {
          socket.close(4004, 'Authentication failed.');
          return;
        }
        const shard = (packet.d.shard as [number, number] | undefined) ?? [0, 1];
        identified.push({ shard, intents: Number(packet.d.intents) });
        shardOf.set(socket, shard[0]);
        const send = (t: string, d: unknown) => socket.send(JSON.stringify({ op: 0, t, s: ++sequence, d }));
        send('READY', {
          v: 10,
          user: botUser,
          guilds: shard[0] === 0 ? [{ id: guildId, unavailable: true }] : [],
          session_id: `session-${shard[0]}`,
          resume_gateway_url: wsURL,
          shard,
          application: { id: applicationId, flags: options.applicationFlags ?? 1 << 19 },
        });
        if (shard[0] === 0) {
          send('GUILD_CREATE', {
            id: guildId,
            name: 'Fake Guild',
            icon: null,
            owner_id: '1100000000000000999',
            roles: [
              {
                // The team that "Ask a human" mentions (ESCALATION_DISCORD_ROLE in tests).
                id: '1100000000000000888',
                name: 'Support',
                permissions: '0',
                position: 2,
                color: 0,
                hoist: false,
                managed: false,
                mentionable: true,
                flags: 0,
              },
              {
                id: adminRole.id,
                name: adminRole.name,
                permissions: '0',
                position: 1,
                color: 0,
                hoist: false,
                managed: false,
                mentionable: false,
                flags: 0,
              },
              {
                id: guildId,
                name: '@everyone',
                permissions: String(options.everyonePermissions ?? MEMBER_PERMISSIONS),
                position: 0,
                color: 0,
                hoist: false,
                managed: false,
                mentionable: false,
                flags: 0,
              },
            ],
            emojis: [],
            stickers: [],
            features: [],
            member_count: 2,
            channels: [textChannel, forumChannel, hiddenChannel],
            // Active threads only, as Discord sends them: an archived one is not in the client's cache.
            threads: [...threads.values()].filter((t) => !t.archived).map(threadChannel),
            members: [
              {
                user: botUser,
                roles: [],
                joined_at: new Date().toISOString(),
                deaf: false,
                mute: false,
                flags: 0,
              },
            ],
            presences: [],
            voice_states: [],
            stage_instances: [],
            guild_scheduled_events: [],
            soundboard_sounds: [],
            unavailable: false,
            large: false,
            joined_at: new Date().toISOString(),
            system_channel_id: null,
            afk_timeout: 300,
            verification_level: 0,
            default_message_notifications: 0,
            explicit_content_filter: 0,
            mfa_level: 0,
            premium_tier: 0,
            preferred_locale: 'en-US',
            nsfw_level: 0,
            premium_progress_bar_enabled: false,
          });
        }
        for (const resolve of readyResolvers) resolve();
        readyResolvers = [];
      }
    });
  });

  /** The channel object Discord sends with an interaction from `place` (a thread when `channel` is one). */
  const interactionChannel = (place: InteractionPlace, userId: string, channel?: string) => {
    if (place === 'bot_dm') return { id: '9100000000000000001', type: 1, recipients: [user(userId)] };
    if (place === 'private_channel') {
      return { id: privateChannelId, type: 1, recipients: [user(userId), user('1100000000000000444')] };
    }
    if (place === 'foreign_guild') return { ...textChannel, id: foreignChannelId, guild_id: foreignGuildId };
    const thread = channel ? threads.get(channel) : undefined;
    if (thread) return threadChannel(thread);
    if (channel === forumChannelId) return forumChannel;
    if (channel === hiddenChannelId) return hiddenChannel;
    // The interaction happens where its message is: any text channel of the server.
    return channel ? { ...textChannel, id: channel } : textChannel;
  };
  const interactionBase = (userId: string, dm: boolean, fields: InteractionFields = {}) => {
    const place: InteractionPlace = fields.context ?? (dm ? 'bot_dm' : 'guild');
    const id = nextId();
    const interactionToken = `itoken-${id}`;
    const channel = interactionChannel(place, userId, fields.channelId);
    const inGuild = place === 'guild' || place === 'foreign_guild';
    interactions.set(interactionToken, { channelId: channel.id, guild: inGuild });
    const member = {
      user: user(userId),
      roles: [...(fields.roles ?? [])],
      joined_at: new Date().toISOString(),
      deaf: false,
      mute: false,
      flags: 0,
      permissions: String(fields.permissions ?? MEMBER_PERMISSIONS),
    };
    const who = inGuild
      ? { guild_id: place === 'guild' ? guildId : foreignGuildId, member }
      : { user: user(userId) };
    // Who installed the app for this interaction: the server ("0") and/or the user ("1").
    const owners =
      place === 'guild' ? { '0': guildId } : place === 'bot_dm' ? { '1': userId } : { '1': userId };
    const context = { guild: 0, foreign_guild: 0, bot_dm: 1, private_channel: 2 }[place];
    return {
      id,
      interactionToken,
      payload: {
        id,
        application_id: applicationId,
        channel_id: channel.id,
        channel,
        token: interactionToken,
        version: 1,
        app_permissions: place === 'guild' || place === 'bot_dm' ? '1071698660929' : '0',
        locale: 'en-US',
        ...(inGuild ? { guild_locale: 'en-US' } : {}),
        entitlements: [],
        authorizing_integration_owners: owners,
        context,
        ...who,
      },
    };
  };

  return {
    apiURL: `${server.url}/api`,
    token,
    applicationId,
    botUserId,
    guildId,
    channelId,
    calls,
    callsTo: (method, pattern) =>
      calls.filter((c) => c.method === method && pattern.test(c.path) && !c.rateLimited),
    onCall(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    identified,
    waitForReady: () => new Promise<void>((resolve) => readyResolvers.push(resolve)),
    messages: (id) => store(id),
    cdnRequests,
    userMessage({
      channelId: target = channelId,
      content,
      userId = '1100000000000000555',
      bot = false,
      dm = false,
      webhookId,
      type,
      attachments = [],
    }) {
      const channel = dm ? '9100000000000000001' : target;
      const message = makeMessage(channel, user(userId, bot), { content }, !dm);
      if (type !== undefined) message.type = type;
      if (webhookId) message.webhook_id = webhookId;
      message.attachments = attachments.map((fields) => {
        const id = nextId();
        const path = `/attachments/${channel}/${id}/${encodeURIComponent(fields.filename)}`;
        const bytes = typeof fields.content === 'string' ? Buffer.from(fields.content) : fields.content;
        const contentType = fields.contentType ?? 'text/plain; charset=utf-8';
        cdn.set(path, {
          content: bytes,
          contentType,
          ...(fields.failWith ? { failWith: fields.failWith } : {}),
        });
        return {
          id,
          filename: fields.filename,
          size: fields.declaredSize ?? bytes.byteLength,
          url: `${server.url}${path}?ex=1&is=1&hm=signed`,
          proxy_url: `${server.url}${path}`,
          content_type: contentType,
        };
      });
      const mentions = [...content.matchAll(/<@!?(\d+)>/g)].map((match) =>
        match[1] === botUserId ? botUser : user(match[1]!),
      );
      message.mentions = mentions;
      dispatch('MESSAGE_CREATE', {
        ...message,
        ...(dm
          ? { channel_type: 1 }
          : {
              member: { roles: [], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 },
            }),
      });
      return message;
    },
    userThread({ name, userId = '1100000000000000555' }) {
      const thread = { id: nextId(), name, owner_id: userId, parent_id: channelId };
      threads.set(thread.id, thread);
      channels.set(thread.id, []);
      dispatch('THREAD_CREATE', { ...threadChannel(thread), newly_created: true });
      return thread.id;
    },
    slashAsk({ question, private: isPrivate, userId = '1100000000000000555', dm = false, context }) {
      const place = context ?? (dm ? 'bot_dm' : 'guild');
      const { id, interactionToken, payload } = interactionBase(userId, dm, { context: place });
      const options: unknown[] = [{ name: 'question', type: 3, value: question }];
      if (isPrivate !== undefined) options.push({ name: 'private', type: 5, value: isPrivate });
      dispatch('INTERACTION_CREATE', {
        ...payload,
        type: 2,
        data: {
          id: '1100000000000000777',
          name: 'ask',
          type: 1,
          options,
          ...(place === 'guild' ? { guild_id: guildId } : {}),
        },
      });
      return { id, token: interactionToken };
    },
    slashCommand({ name, options = [], userId = '1100000000000000555', ...fields }) {
      const { id, interactionToken, payload } = interactionBase(userId, false, fields);
      dispatch('INTERACTION_CREATE', {
        ...payload,
        type: 2,
        data: { id: '1100000000000000778', name, type: 1, options, guild_id: guildId },
      });
      return { id, token: interactionToken };
    },
    autocomplete({ name, options, userId = '1100000000000000555', ...fields }) {
      const { id, interactionToken, payload } = interactionBase(userId, false, fields);
      dispatch('INTERACTION_CREATE', {
        ...payload,
        type: 4,
        data: { id: '1100000000000000778', name, type: 1, options, guild_id: guildId },
      });
      return { id, token: interactionToken };
    },
    choices: (token) => autocompleteChoices.get(token),
    addMessage(target, content, userId = '1100000000000000555') {
      return makeMessage(target, user(userId), { content });
    },
    ephemeral: (token) => ephemeralByToken.get(token) ?? [],
    ephemeralMessages,
    adminRole,
    clickButton({ customId, messageId, userId = '1100000000000000555', context = 'guild', ...fields }) {
      // A button on an ephemeral message (a private answer) is clicked too.
      const message =
        [...channels.values()].flat().find((m) => m.id === messageId) ??
        ephemeralMessages.find((m) => m.id === messageId);
      const { id, interactionToken, payload } = interactionBase(userId, false, {
        ...fields,
        context,
        ...(message?.channel_id ? { channelId: message.channel_id } : {}),
      });
      dispatch('INTERACTION_CREATE', {
        ...payload,
        type: 3,
        message,
        data: { custom_id: customId, component_type: 2 },
      });
      return { id, token: interactionToken };
    },
    messageCommand({
      name,
      messageId,
      content,
      authorId = '1100000000000000666',
      userId = '1100000000000000555',
      context = 'guild',
      channelId: inChannel,
      ...fields
    }) {
      const { id, interactionToken, payload } = interactionBase(userId, false, {
        ...fields,
        context,
        ...(inChannel ? { channelId: inChannel } : {}),
      });
      const where = payload.channel_id;
      const message =
        content !== undefined
          ? makeMessage(where, user(authorId), { content }, context === 'guild')
          : [...channels.values()].flat().find((m) => m.id === messageId);
      if (!message) throw new Error(`no message ${messageId} in the fake`);
      dispatch('INTERACTION_CREATE', {
        ...payload,
        type: 2,
        data: {
          id: '1100000000000000778',
          name,
          type: 3,
          target_id: message.id,
          resolved: { messages: { [message.id]: message } },
          ...(context === 'guild' ? { guild_id: guildId } : {}),
        },
      });
      return { id, token: interactionToken, messageId: message.id };
    },
    submitModal({
      customId,
      values,
      userId = '1100000000000000555',
      context = 'guild',
      channelId: inChannel,
    }) {
      const { id, interactionToken, payload } = interactionBase(userId, false, {
        context,
        ...(inChannel ? { channelId: inChannel } : {}),
      });
      dispatch('INTERACTION_CREATE', {
        ...payload,
        type: 5,
        data: {
          custom_id: customId,
          components: Object.entries(values).map(([field, value]) => ({
            type: 1,
            components: [{ type: 4, custom_id: field, value }],
          })),
        },
      });
      return { id, token: interactionToken };
    },
    modals,
    forumChannelId,
    forumTags,
    react({ added, userId, channelId: where, messageId, emoji, roles = [] }) {
      memberRoles.set(userId, roles);
      const GUILD_MESSAGE_REACTIONS = 1 << 10;
      if (!identified.some((entry) => (entry.intents & GUILD_MESSAGE_REACTIONS) !== 0)) return false;
      const message = find(where, messageId);
      dispatch(added ? 'MESSAGE_REACTION_ADD' : 'MESSAGE_REACTION_REMOVE', {
        type: 0,
        user_id: userId,
        channel_id: where,
        message_id: messageId,
        guild_id: guildId,
        emoji: { id: null, name: emoji },
        burst: false,
        ...(added
          ? {
              member: {
                user: user(userId),
                roles: [...roles],
                joined_at: new Date().toISOString(),
                deaf: false,
                mute: false,
                flags: 0,
              },
              ...(message ? { message_author_id: message.author.id } : {}),
            }
          : {}),
      });
      return true;
    },
    tagPost(threadId, tagIds) {
      const thread = threads.get(threadId);
      if (!thread) throw new Error(`no thread ${threadId}`);
      appliedTags.set(threadId, [...tagIds]);
      dispatch('THREAD_UPDATE', threadChannel(thread));
    },
    privateChannelId,
    hiddenChannelId,
    forumPost({ title, content, userId = '1100000000000000555', archived = false }) {
      const thread = { id: nextId(), name: title, owner_id: userId, parent_id: forumChannelId, archived };
      threads.set(thread.id, thread);
      channels.set(thread.id, []);
      // The post's opening message carries the thread's id, as on Discord.
      const message = makeMessage(thread.id, user(userId), { content });
      message.id = thread.id;
      message.mentions = [...content.matchAll(/<@!?(\d+)>/g)].map((match) =>
        match[1] === botUserId ? botUser : user(match[1]!),
      );
      if (archived) return { threadId: thread.id };
      dispatch('THREAD_CREATE', { ...threadChannel(thread), newly_created: true });
      dispatch('MESSAGE_CREATE', {
        ...message,
        member: { roles: [], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 },
      });
      return { threadId: thread.id };
    },
    threadsOf: (id) => [...threads.values()].filter((t) => t.parent_id === id),
    rateLimit(pattern, retryAfter, times = 1) {
      limits.push({ pattern, retryAfter, times });
    },
    denyThreads: (denied = true) => {
      threadsDenied = denied;
    },
    expireInteraction: (token) => {
      expired.add(token);
    },
    async close() {
      for (const socket of sockets) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await server.close();
    },
  };
}
