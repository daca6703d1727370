/**
 * The Discord front end on discord.js v14: /ask (deferred at once, streamed into the reply,
 * then a thread on the reply for follow-ups), @mentions (a thread on the user's message),
 * follow-ups in the bot's threads without a mention, and DMs answered in place.
 *
 * The adapter only translates: each trigger has its handler (handlers/), dispatched by
 * command name or button prefix, and answers go through the shared conversation layer.
 *
 * Intents are the minimum: Guilds (threads, channels), GuildMessages and MessageContent
 * (reading follow-ups that do not mention the bot), DirectMessages; with the knowledge
 * service, GuildMessageReactions too (a ✅ marking a thread resolved, for `/kb learn`).
 */
import {
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  Client,
  Events,
  GatewayIntentBits,
  type Interaction,
  type MessageContextMenuCommandInteraction,
  type ModalSubmitInteraction,
  Partials,
} from 'discord.js';
import type { ConversationLayer } from '../../conversation/layer.js';
import type { KnowledgeService } from '../../knowledge/service.js';
import { type Logger, silentLogger } from '../../log.js';
import { SAVE_THREAD_PREFIX } from '../../records/digest-discord.js';
import type { TenantSettingsStore } from '../../tenants/settings-store.js';
import type { PlatformAdapter } from '../types.js';
import { ASK_ABOUT_COMMAND } from './command-names.js';
import { type DiscordContext, firstInteraction } from './context.js';
import { ASK_HUMAN_PREFIX, FEEDBACK_PREFIX, NO_PINGS } from './format.js';
import { ASK_ABOUT_MODAL_PREFIX, askAboutMessage, SHARE_PREFIX } from './handlers/ask-about-message.js';
import { onAskCommand } from './handlers/ask-command.js';
import { onAskHuman } from './handlers/ask-human.js';
import { onFeedback } from './handlers/feedback.js';
import { onFeedbackReason, REASON_MODAL_PREFIX } from './handlers/feedback-reason.js';
import { onKbAutocomplete } from './handlers/kb-autocomplete.js';
import { onKbCommand } from './handlers/kb-command.js';
import { onForumTags, onResolvedReaction, onUncachedThreadUpdate } from './handlers/learn.js';
import { onMessage } from './handlers/message.js';
import { onSaveToKnowledge, SAVE_TO_KNOWLEDGE_COMMAND } from './handlers/save-thread.js';
import { onSaveThreadButton } from './handlers/save-thread-button.js';
import { loginProblem } from './login-problem.js';
import { discordResumer } from './resume.js';
import type { DiscordConfig } from './settings.js';
import { answerFailed, answerUnhandled } from './unanswered.js';

export interface DiscordAdapterOptions {
  readonly config: DiscordConfig;
  readonly conversations: ConversationLayer;
  /** `/kb` and "Save to knowledge base"; without it neither is handled. */
  readonly knowledge?: KnowledgeService;
  readonly logger?: Logger;
  /** Edit pacing, for tests; the default respects Discord's edit rate limits. */
  readonly editIntervalMs?: number;
  /** Each server's `/kb settings`; absent: only ESCALATION_DISCORD_ROLE and DIGEST_DISCORD_CHANNEL apply. */
  readonly tenants?: TenantSettingsStore;
  /** DIGEST_DISCORD_CHANNEL, shown in `/kb settings` where a server chose none. */
  readonly digestChannel?: string;
}

export const DISCORD_INTENTS = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildMessages,
  GatewayIntentBits.MessageContent,
  GatewayIntentBits.DirectMessages,
];

/** Runs the handler an interaction is for, if any: commands by name, buttons and forms by id prefix. */
function interactionDispatcher(ctx: DiscordContext, knowledge: KnowledgeService | undefined) {
  const commands: Record<string, (interaction: ChatInputCommandInteraction) => Promise<void>> = {
    ask: onAskCommand(ctx),
    ...(knowledge ? { kb: onKbCommand(ctx, knowledge) } : {}),
  };
  const autocompletes: Record<string, (interaction: AutocompleteInteraction) => Promise<void>> = {
    ...(knowledge ? { kb: onKbAutocomplete(ctx, knowledge) } : {}),
  };
  const askAbout = askAboutMessage(ctx);
  const messageCommands: Record<
    string,
    (interaction: MessageContextMenuCommandInteraction) => Promise<void>
  > = {
    [ASK_ABOUT_COMMAND]: askAbout.onCommand,
    ...(knowledge ? { [SAVE_TO_KNOWLEDGE_COMMAND]: onSaveToKnowledge(ctx, knowledge) } : {}),
  };
  // Several processes connected to one shard (sharing dedupe through DATABASE_URL or REDIS_URL)
  // all receive a click: one of them handles it.
  const once =
    <T extends { id: string }>(handle: (interaction: T) => Promise<void>) =>
    async (interaction: T) => {
      if (await firstInteraction(ctx.conversations, interaction.id)) await handle(interaction);
    };
  const modals: Record<string, (interaction: ModalSubmitInteraction) => Promise<void>> = {
    [ASK_ABOUT_MODAL_PREFIX]: askAbout.onSubmit,
    [REASON_MODAL_PREFIX]: once(onFeedbackReason(ctx)),
  };
  const buttons: Record<string, (interaction: ButtonInteraction) => Promise<void>> = {
    [FEEDBACK_PREFIX]: once(onFeedback(ctx)),
    [SHARE_PREFIX]: once(askAbout.onShare),
    [ASK_HUMAN_PREFIX]: once(onAskHuman(ctx)),
    ...(knowledge ? { [SAVE_THREAD_PREFIX]: once(onSaveThreadButton(ctx, knowledge)) } : {}),
  };
  const byPrefix = <T>(handlers: Record<string, T>, customId: string) => {
    const prefix = Object.keys(handlers).find((candidate) => customId.startsWith(candidate));
    return prefix ? handlers[prefix] : undefined;
  };
  return (interaction: Interaction): Promise<void> | undefined => {
    if (interaction.isChatInputCommand()) return commands[interaction.commandName]?.(interaction);
    if (interaction.isAutocomplete()) return autocompletes[interaction.commandName]?.(interaction);
    if (interaction.isMessageContextMenuCommand())
      return messageCommands[interaction.commandName]?.(interaction);
    if (interaction.isButton()) return byPrefix(buttons, interaction.customId)?.(interaction);
    if (interaction.isModalSubmit()) return byPrefix(modals, interaction.customId)?.(interaction);
    return undefined;
  };
}

export function createDiscordAdapter(options: DiscordAdapterOptions): PlatformAdapter {
  const { config } = options;
  const log = (options.logger ?? silentLogger).child({ platform: 'discord' });
  const client = new Client({
    intents: options.knowledge
      ? [...DISCORD_INTENTS, GatewayIntentBits.GuildMessageReactions]
      : DISCORD_INTENTS,
    // DM channels are not cached until used; partials let their first message through. A
    // reaction on a message from before the bot started arrives partial, and is fetched.
    partials: [Partials.Channel, Partials.Message, Partials.Reaction, Partials.User],
    allowedMentions: NO_PINGS,
    ...(config.apiURL ? { rest: { api: config.apiURL } } : {}),
  });
  const ctx: DiscordContext = {
    client,
    config,
    conversations: options.conversations,
    log,
    ...(options.editIntervalMs !== undefined ? { editIntervalMs: options.editIntervalMs } : {}),
    ...(options.tenants ? { tenants: options.tenants } : {}),
    ...(options.digestChannel ? { digestChannel: options.digestChannel } : {}),
  };
  let ready = false;
  // Answers another instance began and could not finish are finished here, over REST.
  options.conversations.resumeOn('discord', discordResumer(ctx));
  const dispatch = interactionDispatcher(ctx, options.knowledge);
  const handleMessage = onMessage(ctx);

  // Handlers never let an error escape into the client, and no interaction is left unanswered
  // (Discord would show "The application did not respond"): one no handler knows is told it is
  // out of date (by one instance, where several share the shard), a failed one is told so.
  client.on(Events.InteractionCreate, (interaction) => {
    const handled = dispatch(interaction);
    const answered = handled
      ? handled.catch(async (error: unknown) => {
          log.error({ err: error }, 'interaction handler failed');
          await answerFailed(interaction, error);
        })
      : firstInteraction(ctx.conversations, interaction.id).then((mine) =>
          mine ? answerUnhandled(interaction, log) : undefined,
        );
    answered.catch((error: unknown) => log.warn({ err: error }, 'could not answer an interaction'));
  });
  client.on(Events.MessageCreate, (message) => {
    handleMessage(message).catch((error: unknown) => log.error({ err: error }, 'message handler failed'));
  });
  if (options.knowledge) {
    const failed = (error: unknown) => log.error({ err: error }, 'learning from a thread failed');
    const marked = onResolvedReaction(ctx, options.knowledge, true);
    const unmarked = onResolvedReaction(ctx, options.knowledge, false);
    const tagged = onForumTags(ctx, options.knowledge);
    const taggedUncached = onUncachedThreadUpdate(ctx, options.knowledge);
    client.on(Events.MessageReactionAdd, (reaction, user) => void marked(reaction, user).catch(failed));
    client.on(Events.MessageReactionRemove, (reaction, user) => void unmarked(reaction, user).catch(failed));
    client.on(Events.ThreadUpdate, (before, after) => void tagged(before, after).catch(failed));
    // A post discord.js has not cached gets no ThreadUpdate: read from the gateway's packet.
    client.on(
      Events.Raw,
      (packet: { t?: string | null; d?: unknown }) => void taggedUncached(packet)?.catch(failed),
    );
  }
  client.on(Events.Error, (error) => log.error({ err: error }, 'Discord client error'));
  client.on(Events.ShardError, (error, shardId) => log.error({ err: error, shardId }, 'Discord shard error'));
  client.on(Events.ShardDisconnect, (_event, shardId) => {
    ready = false;
    log.warn({ shardId }, 'Discord shard disconnected');
  });
  client.on(Events.ShardResume, () => {
    ready = true;
  });

  return {
    name: 'discord',
    async start() {
      const readyPromise = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
      try {
        await client.login(config.token);
      } catch (error) {
        throw loginProblem(error, config.apiURL);
      }
      await readyPromise;
      ready = true;
      log.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'Discord connected');
    },
    async stop() {
      ready = false;
      await client.destroy();
    },
    isReady: () => ready,
  };
}
