/**
 * The digest on Slack: a message of blocks (figures, then each failed question with links to
 * its threads, and a "Save as knowledge" button where a person answered in the thread), and
 * the thread reading that tells whether a person did. Question text is shown, never run.
 */
import type { types } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { safeHttpUrl } from '../core/sources.js';
import { slackPlainText } from '../render/slack-text.js';
import {
  type Digest,
  type DigestDestination,
  type DigestItem,
  type DigestSection,
  digestScope,
  digestSections,
} from './digest.js';
import type { Pseudonymize } from './pseudonyms.js';
import { figures, oneLine } from './report.js';

/** The digest button's action id: the same name as the knowledge feature's message shortcut. */
export const SAVE_THREAD_ACTION = 'save_to_knowledge';

export interface SaveTarget {
  readonly channel: string;
  readonly thread: string;
}

export function saveValue(target: SaveTarget): string {
  return JSON.stringify({ c: target.channel, t: target.thread });
}

export function parseSaveValue(value: string | undefined): SaveTarget | undefined {
  try {
    const parsed = JSON.parse(value ?? '') as { c?: unknown; t?: unknown };
    return typeof parsed.c === 'string' && typeof parsed.t === 'string'
      ? { channel: parsed.c, thread: parsed.t }
      : undefined;
  } catch {
    return undefined;
  }
}

const link = (url: string | undefined, label: string) => {
  const safe = safeHttpUrl(url)?.replace(/&/g, '&amp;').replace(/\|/g, '%7C');
  return safe ? `<${safe}|${label}>` : undefined;
};

function itemBlock(item: DigestItem, detail: string): types.KnownBlock {
  const { group } = item;
  const wording = group.question
    ? `“${slackPlainText(oneLine(group.question))}”`
    : '_(question text not kept)_';
  const threads = group.threads
    .slice(0, 5)
    .map((t, i) => link(t.link, `thread ${i + 1}`))
    .filter((l) => l !== undefined);
  const text = [`*${group.count}×* ${wording}`, detail && `_${slackPlainText(detail)}_`, threads.join(' · ')]
    .filter(Boolean)
    .join('\n');
  const saved = item.humanAnswered;
  return {
    type: 'section',
    text: { type: 'mrkdwn', text: text.slice(0, 3_000) },
    ...(saved?.channelId && saved.threadId
      ? {
          accessory: {
            type: 'button',
            action_id: SAVE_THREAD_ACTION,
            text: { type: 'plain_text', text: 'Save as knowledge' },
            value: saveValue({ channel: saved.channelId, thread: saved.threadId }),
          },
        }
      : {}),
  };
}

export function digestBlocks(digest: Digest): types.KnownBlock[] {
  const section = (text: string): types.KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });
  const blocks: types.KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: digest.title.slice(0, 150) } },
    section(figures(digest.report).join('\n')),
  ];
  const list = ({ title, items, size, detail }: DigestSection) => {
    blocks.push({ type: 'divider' }, section(`*${title}*: ${size}`));
    if (items.length === 0) blocks.push(section('_none_'));
    for (const item of items) blocks.push(itemBlock(item, detail(item)));
  };
  for (const section of digestSections(digest, 120)) list(section);
  return blocks;
}

export interface SlackDigestOptions {
  readonly token: string;
  readonly channel: string;
  readonly apiURL?: string;
  /** The records' pseudonyms, to tell the asker's own replies from a helper's. */
  readonly pseudonym: Pseudonymize;
}

/** Posts to one Slack channel with the bot token; reads threads to find human answers. */
export function slackDigestDestination(options: SlackDigestOptions): DigestDestination {
  const client = new WebClient(options.token, {
    ...(options.apiURL ? { slackApiUrl: options.apiURL } : {}),
    retryConfig: { retries: 2 },
  });
  let botUserId: string | undefined;
  const workspace = async () => {
    const auth = await client.auth.test();
    return auth.team_id ? String(auth.team_id) : undefined;
  };
  return {
    name: `slack:${options.channel}`,
    platform: 'slack',
    workspace,
    async scope() {
      return digestScope('slack', await workspace());
    },
    async humanReplied(thread) {
      botUserId ??= String((await client.auth.test()).user_id ?? '');
      const replies = await client.conversations.replies({
        channel: thread.channelId!,
        ts: thread.threadId!,
        limit: 200,
      });
      return (replies.messages ?? []).some(
        (message) =>
          message.ts !== thread.threadId &&
          typeof message.user === 'string' &&
          !message.bot_id &&
          (message as { subtype?: string }).subtype === undefined &&
          message.user !== botUserId &&
          options.pseudonym(message.user) !== thread.askerId,
      );
    },
    async post(digest) {
      await client.chat.postMessage({
        channel: options.channel,
        text: `${digest.title}: ${figures(digest.report).join(' · ')}`,
        blocks: digestBlocks(digest),
        unfurl_links: false,
      });
    },
  };
}
