/**
 * "Ask about this message" (Apps → on a message): a modal takes the question; the selected
 * message and its thread are passages of the answer (cited as such) and the conversation's
 * history; the answer comes back in an
 * ephemeral reply with a "Share in thread" button that posts it, with its sources, in the
 * message's thread (started on the message when it has none), crediting who asked.
 *
 * The message itself arrives with the command (Discord resolves it even where the bot cannot
 * read the channel, as in a user install), so it is kept for the modal's submission; its
 * thread is read when the bot can, and left out when it cannot.
 */
import {
  ActionRowBuilder,
  ButtonBuilder,
  type ButtonInteraction,
  ButtonStyle,
  type Message,
  type MessageActionRowComponentBuilder,
  type MessageContextMenuCommandInteraction,
  MessageFlags,
  ModalBuilder,
  type ModalSubmitInteraction,
  PermissionFlagsBits,
  type SendableChannels,
  SnowflakeUtil,
  TextInputBuilder,
  TextInputStyle,
} from 'discord.js';
import type { Conversation, FinalReply } from '../../../conversation/conversation.js';
import { isAllowed } from '../../../conversation/layer.js';
import { pointedPassages } from '../../../conversation/pointed-message.js';
import { PrivateAnswers } from '../../../conversation/private-answers.js';
import { strings } from '../../../conversation/strings.js';
import type { Turn } from '../../../core/types.js';
import { discordPlainText } from '../../../render/discord-text.js';
import { splitMarkdown } from '../../../render/split-markdown.js';
import { type DiscordContext, firstInteraction } from '../context.js';
import { discordConversation, type MessagePayload, type ReplySurface } from '../conversation.js';
import { MESSAGE_LIMIT, NO_PINGS, sourcesEmbed, stripMention, threadName } from '../format.js';
import { channelHistory } from '../history.js';
import { ephemeralSurface } from '../private-reply.js';

export const ASK_ABOUT_MODAL_PREFIX = 'askabout:';
export const SHARE_PREFIX = 'share:';
const QUESTION_FIELD = 'question';
/** Discord's limit on a text input, and the question limit's default. */
const MAX_QUESTION_CHARS = 2_000;
/** A modal left open longer than this is forgotten (Discord's interaction tokens last 15 minutes). */
const PENDING_TTL_MS = 15 * 60 * 1000;
const PENDING_CAPACITY = 1_000;

/** The selected message, kept from the command until the modal is submitted. */
interface SelectedMessage {
  readonly channelId: string;
  readonly messageId: string;
  /** The thread the message is in, or the one started from it. */
  readonly threadId?: string;
  /** The channel the message's thread hangs off, when the message is in a thread. */
  readonly parentId?: string;
  readonly guildId?: string;
  readonly turn?: Turn;
  readonly at: number;
}

/** Where a shared answer goes. */
interface ShareTarget {
  readonly channelId: string;
  readonly messageId: string;
  readonly threadId?: string;
}

function asTurn(message: Message, botId: string | undefined): Turn | undefined {
  const text = botId ? stripMention(message.content, botId) : message.content.trim();
  if (!text) return undefined;
  return { role: botId && message.author.id === botId ? 'assistant' : 'user', text };
}

function questionModal(customId: string) {
  return new ModalBuilder()
    .setCustomId(customId)
    .setTitle(strings.askAboutTitle)
    .addComponents(
      new ActionRowBuilder<TextInputBuilder>().addComponents(
        new TextInputBuilder()
          .setCustomId(QUESTION_FIELD)
          .setLabel(strings.askAboutLabel)
          .setPlaceholder(strings.askAboutPlaceholder)
          .setStyle(TextInputStyle.Paragraph)
          .setRequired(true)
          .setMaxLength(MAX_QUESTION_CHARS),
      ),
    );
}

function shareRow(id: string) {
  return new ActionRowBuilder<MessageActionRowComponentBuilder>().addComponents(
    new ButtonBuilder()
      .setCustomId(`${SHARE_PREFIX}${id}`)
      .setLabel(strings.shareInThread)
      .setStyle(ButtonStyle.Primary),
  );
}

/** The answer as public messages: the credit and question first, sources on the last part. */
function sharedPayloads(
  question: string,
  userId: string,
  text: string,
  sources: FinalReply['sources'],
): MessagePayload[] {
  const credit = `**<@${userId}> asked:** ${discordPlainText(question.replace(/\s+/g, ' ').trim())}`;
  const parts = splitMarkdown(`${credit}\n\n${text.trim()}`, MESSAGE_LIMIT);
  const embed = sourcesEmbed(sources);
  return parts.map((content, i) =>
    i === parts.length - 1 && embed ? { content, embeds: [embed] } : { content },
  );
}

export function askAboutMessage(ctx: DiscordContext) {
  const pending = new Map<string, SelectedMessage>();
  const answers = new PrivateAnswers<ShareTarget>();
  const botId = () => ctx.client.user?.id;

  const remember = (id: string, selected: SelectedMessage) => {
    for (const [key, entry] of pending) {
      if (entry.at > selected.at - PENDING_TTL_MS && pending.size < PENDING_CAPACITY) break;
      pending.delete(key);
    }
    pending.set(id, selected);
  };

  /** The message and, when the bot can read it, its thread, oldest first. */
  const historyOf = async (selected: SelectedMessage): Promise<Turn[]> => {
    const id = botId();
    let turns: Turn[] = [];
    if (selected.threadId && id) {
      try {
        const thread = await ctx.client.channels.fetch(selected.threadId);
        if (thread?.isTextBased())
          turns = await channelHistory(thread, SnowflakeUtil.generate().toString(), id);
      } catch (error) {
        ctx.log.debug({ err: error }, 'could not read the thread of the selected message');
      }
    }
    const own = selected.turn;
    if (own && !turns.some((turn) => turn.text === own.text)) turns.push(own);
    return turns;
  };

  async function onCommand(interaction: MessageContextMenuCommandInteraction): Promise<void> {
    if (!(await firstInteraction(ctx.conversations, interaction.id))) return;
    const message = interaction.targetMessage;
    const channel = interaction.channel;
    const parentId = channel?.isThread() ? channel.parentId : undefined;
    const inThread = channel?.isThread() ?? false;
    const turn = asTurn(message, botId());
    const selected: SelectedMessage = {
      channelId: interaction.channelId,
      messageId: message.id,
      ...(inThread ? { threadId: interaction.channelId } : message.hasThread ? { threadId: message.id } : {}),
      ...(parentId ? { parentId } : {}),
      ...(interaction.guildId ? { guildId: interaction.guildId } : {}),
      ...(turn ? { turn } : {}),
      at: Date.now(),
    };
    remember(interaction.id, selected);
    await interaction.showModal(questionModal(`${ASK_ABOUT_MODAL_PREFIX}${interaction.id}`));
  }

  async function onSubmit(interaction: ModalSubmitInteraction): Promise<void> {
    if (!(await firstInteraction(ctx.conversations, interaction.id))) return;
    const refuse = (content: string) =>
      interaction.reply({
        content: `⚠️ ${content}`,
        flags: MessageFlags.Ephemeral,
        allowedMentions: NO_PINGS,
      });
    const selected = pending.get(interaction.customId.slice(ASK_ABOUT_MODAL_PREFIX.length));
    if (!selected) return void (await refuse(strings.askAboutExpired));
    const checked = ctx.conversations.check(interaction.fields.getTextInputValue(QUESTION_FIELD));
    if (!checked.ok) return void (await refuse(checked.message));
    const place = {
      channelId: selected.parentId ?? selected.channelId,
      ...(selected.threadId ? { threadId: selected.threadId } : {}),
      ...(selected.parentId ? { parentId: selected.parentId } : {}),
      ...(selected.guildId ? { workspaceId: selected.guildId } : {}),
      direct: !interaction.inGuild(),
    };
    if (!isAllowed({ platform: 'discord', ...place }, ctx.config.allowedChannels)) {
      return void (await refuse(strings.notEnabledHere));
    }
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const question = checked.question;
    const base = ephemeralSurface(interaction);
    let share: ActionRowBuilder<MessageActionRowComponentBuilder> | undefined;
    // The finished answer's buttons gain "Share in thread" beside the feedback ones.
    const surface: ReplySurface = {
      ...base,
      writeFirst: (payload) => base.writeFirst(withShare(payload)),
      post: (payload) => base.post(withShare(payload)),
    };
    const withShare = (payload: MessagePayload): MessagePayload =>
      share && payload.components && payload.components.length > 0
        ? { ...payload, components: [...payload.components, share] }
        : payload;
    // The message and its thread: passages of the answer, and the conversation so far.
    const history = await historyOf(selected);
    const pointed = pointedPassages({
      id: selected.messageId,
      text: selected.turn?.text ?? '',
      thread: history,
    });
    const conversation: Conversation = discordConversation({
      surface,
      place,
      asker: { id: interaction.user.id },
      history: async () => history,
      ...(ctx.editIntervalMs !== undefined ? { editIntervalMs: ctx.editIntervalMs } : {}),
    });
    const target: ShareTarget = {
      channelId: selected.channelId,
      messageId: selected.messageId,
      ...(selected.threadId ? { threadId: selected.threadId } : {}),
    };
    await ctx.conversations.ask(
      {
        ...conversation,
        async openReply() {
          const reply = await conversation.openReply();
          return {
            ...reply,
            write: (text) => reply.write(text),
            async finish(final) {
              if (final.feedbackId && final.text) {
                share = shareRow(
                  answers.remember({
                    question,
                    text: final.text,
                    sources: final.sources,
                    askerId: interaction.user.id,
                    target,
                  }),
                );
              }
              await reply.finish(final);
            },
          };
        },
      },
      question,
      { via: 'message-command', history, ...(pointed.length > 0 ? { attachments: pointed } : {}) },
    );
  }

  /** The thread to share into: the message's own, or one started on it. */
  async function threadFor(target: ShareTarget, question: string): Promise<SendableChannels> {
    const existing = target.threadId ? await ctx.client.channels.fetch(target.threadId) : null;
    if (existing?.isSendable()) return existing;
    const channel = await ctx.client.channels.fetch(target.channelId);
    if (!channel?.isTextBased() || !('messages' in channel)) throw new Error('not a text channel');
    const message = await channel.messages.fetch(target.messageId);
    if (!message.inGuild()) throw new Error('not a server channel');
    return message.hasThread && message.thread
      ? message.thread
      : message.startThread({ name: threadName(question) });
  }

  async function onShare(interaction: ButtonInteraction): Promise<void> {
    const id = interaction.customId.slice(SHARE_PREFIX.length);
    const claim = answers.claim(id, interaction.user.id);
    const tell = (content: string) =>
      (interaction.replied || interaction.deferred
        ? interaction.followUp.bind(interaction)
        : interaction.reply.bind(interaction))({
        content,
        flags: MessageFlags.Ephemeral,
        allowedMentions: NO_PINGS,
      });
    if (!claim.ok) {
      const why = {
        unknown: strings.shareExpired,
        already_shared: strings.shareAlready,
        not_asker: strings.shareNotYours,
      } as const;
      await tell(why[claim.reason]);
      return;
    }
    const { answer } = claim;
    // Sharing posts under the bot's name: only where the asker could post it themselves.
    const may = interaction.memberPermissions;
    if (may && !may.has(PermissionFlagsBits.SendMessagesInThreads)) {
      answers.release(id);
      await tell(strings.shareNotAllowed);
      return;
    }
    const payloads = sharedPayloads(answer.question, interaction.user.id, answer.text, answer.sources);
    // Discord wants a first response within 3 s; finding or starting the thread and posting in
    // it can take longer (several calls, rate limits), so the click is acknowledged first.
    await interaction.deferUpdate();
    try {
      const thread = await threadFor(answer.target, answer.question);
      for (const payload of payloads) await thread.send({ ...payload, allowedMentions: NO_PINGS });
      await tell(strings.shareDone);
      return;
    } catch (error) {
      ctx.log.debug({ err: error }, 'could not share in the thread; replying publicly where the button was');
    }
    // Where the bot cannot post (a user install, no thread permission), the interaction's own
    // public reply still can.
    try {
      for (const payload of payloads) await interaction.followUp({ ...payload, allowedMentions: NO_PINGS });
    } catch (error) {
      answers.release(id);
      ctx.log.warn({ err: error }, 'could not share an answer');
      await tell(strings.cannotPostHere).catch(() => undefined);
    }
  }

  return { onCommand, onSubmit, onShare };
}
