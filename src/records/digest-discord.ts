/**
 * The digest on Discord: one message (figures, then each failed question with links to its
 * threads) with a "Save #n as knowledge" button per item where a person answered in the
 * thread, posted over REST so it works from the parent of a sharded bot too. Question text
 * is made literal and the message allows no mentions.
 */
import {
  type APIActionRowComponent,
  type APIButtonComponent,
  type APIMessage,
  ButtonStyle,
  ComponentType,
  REST,
  Routes,
} from 'discord.js';
import { safeHttpUrl } from '../core/sources.js';
import { discordPlainText } from '../render/discord-text.js';
import {
  type Digest,
  type DigestDestination,
  type DigestSection,
  digestScope,
  digestSections,
} from './digest.js';
import type { Pseudonymize } from './pseudonyms.js';
import { figures, oneLine } from './report.js';

/** Custom id prefix of the digest's save buttons: `save:<channel>:<thread>`. */
export const SAVE_THREAD_PREFIX = 'save:';
const MESSAGE_LIMIT = 2_000;

export function parseSaveId(customId: string): { channel: string; thread: string } | undefined {
  const match = /^save:(\d{15,25}):(\d{15,25})$/.exec(customId);
  return match ? { channel: match[1]!, thread: match[2]! } : undefined;
}

export interface DiscordDigestMessage {
  readonly content: string;
  readonly components: APIActionRowComponent<APIButtonComponent>[];
  readonly allowed_mentions: { readonly parse: [] };
}

export function digestMessage(digest: Digest): DiscordDigestMessage {
  const lines = [`**${discordPlainText(digest.title)}**`, ...figures(digest.report)];
  const buttons: APIButtonComponent[] = [];
  let n = 0;
  const list = ({ title, items, size, detail }: DigestSection) => {
    lines.push('', `**${title}**: ${size}`);
    if (items.length === 0) lines.push('none');
    for (const item of items) {
      n += 1;
      const { group } = item;
      const wording = group.question
        ? `“${discordPlainText(oneLine(group.question, 150))}”`
        : '*(question text not kept)*';
      const links = group.threads
        .slice(0, 3)
        .map((t, i) => {
          const url = safeHttpUrl(t.link);
          return url ? `[thread ${i + 1}](<${url}>)` : undefined;
        })
        .filter(Boolean)
        .join(' · ');
      const extra = detail(item);
      lines.push(
        `${n}. **${group.count}×** ${wording}${extra ? ` — ${discordPlainText(extra)}` : ''}${links ? ` ${links}` : ''}`,
      );
      const saved = item.humanAnswered;
      if (saved?.channelId && saved.threadId && buttons.length < 25) {
        buttons.push({
          type: ComponentType.Button,
          style: ButtonStyle.Success,
          label: `Save #${n} as knowledge`,
          custom_id: `${SAVE_THREAD_PREFIX}${saved.channelId}:${saved.threadId}`,
        });
      }
    }
  };
  for (const section of digestSections(digest, 80)) list(section);
  // Whole lines only, so no link or escape is cut in half.
  const kept: string[] = [];
  let length = 0;
  for (const line of lines) {
    if (length + line.length + 1 > MESSAGE_LIMIT - 2) {
      kept.push('…');
      break;
    }
    kept.push(line);
    length += line.length + 1;
  }
  const rows: APIActionRowComponent<APIButtonComponent>[] = [];
  for (let i = 0; i < buttons.length; i += 5) {
    rows.push({ type: ComponentType.ActionRow, components: buttons.slice(i, i + 5) });
  }
  return { content: kept.join('\n'), components: rows, allowed_mentions: { parse: [] } };
}

export interface DiscordDigestOptions {
  readonly token: string;
  readonly channel: string;
  readonly apiURL?: string;
  /** The records' pseudonyms, to tell the asker's own replies from a helper's. */
  readonly pseudonym: Pseudonymize;
}

export function discordDigestDestination(options: DiscordDigestOptions): DigestDestination {
  const rest = new REST(options.apiURL ? { api: options.apiURL } : {}).setToken(options.token);
  const workspace = async () =>
    ((await rest.get(Routes.channel(options.channel))) as { guild_id?: string }).guild_id;
  return {
    name: `discord:${options.channel}`,
    platform: 'discord',
    workspace,
    async scope() {
      // Only questions asked in the server the digest channel belongs to.
      const guild = await workspace();
      return (answer) => Boolean(guild) && digestScope('discord', guild)(answer);
    },
    async humanReplied(thread) {
      const messages = (await rest.get(Routes.channelMessages(thread.threadId!), {
        query: new URLSearchParams({ limit: '100' }),
      })) as APIMessage[];
      return messages.some(
        (message) =>
          !message.author.bot &&
          !message.webhook_id &&
          options.pseudonym(message.author.id) !== thread.askerId,
      );
    },
    async post(digest) {
      await rest.post(Routes.channelMessages(options.channel), { body: digestMessage(digest) });
    },
  };
}
