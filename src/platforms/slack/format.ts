/**
 * Slack formatting: answers as standard markdown (markdown blocks, streaming markdown_text)
 * with a converted mrkdwn copy for notifications, numbered sources, feedback buttons, and
 * mention neutralising so nothing the model or a document writes can ping anyone.
 */
import type { types } from '@slack/bolt';
import slackifyMarkdown from 'slackify-markdown';
import type { Source } from '../../core/types.js';

type Block = types.Block;
type KnownBlock = types.KnownBlock;

const ZWSP = '\u200b';

/** Breaks every Slack mention syntax and bare mass mention so it renders but never notifies. */
export function neutralizeMentions(text: string): string {
  return text
    .replace(/<!(channel|here|everyone)(?:\|[^>]*)?>/gi, `@${ZWSP}$1`)
    .replace(
      /<!subteam\^[A-Z0-9]+(?:\|@?([^>]*))?>/gi,
      (_match, label: string | undefined) => `@${ZWSP}${label ?? 'group'}`,
    )
    .replace(/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g, `@${ZWSP}$1`)
    .replace(/<!([^>]*)>/g, `‹!$1›`)
    .replace(/@(channel|here|everyone)\b/gi, `@${ZWSP}$1`);
}

/** mrkdwn for places that do not render markdown (notification text, context blocks). */
export function toMrkdwn(markdown: string): string {
  return slackifyMarkdown(markdown).trim();
}

/** Removes `<@BOT>` mentions of the bot from a user's message. */
export function stripBotMention(text: string, botUserId: string): string {
  return text.replace(new RegExp(`<@${botUserId}(?:\\|[^>]*)?>`, 'g'), '').trim();
}

const escapeLinkText = (text: string) => text.replace(/[<>|]/g, ' ').replace(/&/g, '&amp;');

export function sourcesBlock(sources: readonly Source[]): KnownBlock | undefined {
  if (sources.length === 0) return undefined;
  const items = sources.map((source) => {
    const title = escapeLinkText(neutralizeMentions(source.title));
    return source.url ? `*[${source.index}]* <${source.url}|${title}>` : `*[${source.index}]* ${title}`;
  });
  return { type: 'context', elements: [{ type: 'mrkdwn', text: `Sources: ${items.join('   ')}` }] };
}

export const FEEDBACK_ACTION = /^feedback_(up|down)$/;

export function feedbackBlock(questionId: string): KnownBlock {
  return {
    type: 'actions',
    block_id: `feedback_${questionId}`,
    elements: [
      {
        type: 'button',
        action_id: 'feedback_up',
        text: { type: 'plain_text', text: '👍 Helpful' },
        value: questionId,
      },
      {
        type: 'button',
        action_id: 'feedback_down',
        text: { type: 'plain_text', text: '👎 Not helpful' },
        value: questionId,
      },
    ],
  };
}

export function markdownBlock(text: string): Block {
  return { type: 'markdown', text } as Block;
}
