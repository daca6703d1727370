/**
 * Slack formatting: answers as standard markdown (markdown blocks, streaming markdown_text)
 * with a converted mrkdwn copy for notifications, numbered sources and feedback buttons.
 * Text we did not write arrives here already neutralised (src/render/slack-text.ts) or is
 * neutralised here, so nothing the model or a document writes can ping anyone.
 */

import { createRequire } from 'node:module';
import type { types } from '@slack/bolt';
import { strings } from '../../conversation/strings.js';
import { safeHttpUrl } from '../../core/sources.js';
import type { Source } from '../../core/types.js';
import { wellFormed } from '../../render/neutralizer.js';
import { inertSlackTokens, slackPlainText } from '../../render/slack-text.js';

type Block = types.Block;
type KnownBlock = types.KnownBlock;

type Slackify = (markdown: string) => string;
let loadedSlackify: Slackify | undefined;

/**
 * The markdown → mrkdwn converter (unified/remark, ~14 MB resident), loaded the first time a
 * message needs it rather than at start-up: streamed answers never do.
 */
function slackify(): Slackify {
  loadedSlackify ??= createRequire(import.meta.url)('slackify-markdown') as Slackify;
  return loadedSlackify;
}

/**
 * mrkdwn for places that do not render markdown (notification text, context blocks), from
 * markdown already neutralised: the converter builds links itself, so its output is checked
 * again and any `<` that is not a web link it made is shown as text.
 */
export function toMrkdwn(neutralizedMarkdown: string): string {
  // The converter throws on a lone surrogate in a link; a notification copy must not.
  const text = wellFormed(neutralizedMarkdown);
  let converted: string;
  try {
    converted = slackify()(text);
  } catch {
    converted = text;
  }
  return inertSlackTokens(converted.trim());
}

/** Removes `<@BOT>` mentions of the bot from a user's message. */
export function stripBotMention(text: string, botUserId: string): string {
  return text.replace(new RegExp(`<@${botUserId}(?:\\|[^>]*)?>`, 'g'), '').trim();
}

/** A link target for `<url|label>`: web addresses only, with Slack's separators escaped. */
function slackLinkTarget(url: string | undefined): string | undefined {
  const safe = safeHttpUrl(url);
  return safe?.replace(/&/g, '&amp;').replace(/\|/g, '%7C');
}

export function sourcesBlock(sources: readonly Source[]): KnownBlock | undefined {
  if (sources.length === 0) return undefined;
  const items = sources.map((source) => {
    const title = slackPlainText(source.title.replace(/\s+/g, ' ').trim());
    const target = slackLinkTarget(source.url);
    return target ? `*[${source.index}]* <${target}|${title}>` : `*[${source.index}]* ${title}`;
  });
  return { type: 'context', elements: [{ type: 'mrkdwn', text: `Sources: ${items.join('   ')}` }] };
}

export const FEEDBACK_ACTION = /^feedback_(up|down)$/;
/** "Ask a human" under an answer (shown only when ESCALATION_SLACK_GROUP is set). */
export const ASK_HUMAN_ACTION = 'ask_a_human';

export function feedbackBlock(questionId: string, options: { askHuman?: boolean } = {}): KnownBlock {
  const askHuman = options.askHuman
    ? [
        {
          type: 'button' as const,
          action_id: ASK_HUMAN_ACTION,
          text: { type: 'plain_text' as const, text: `🙋 ${strings.askHuman}` },
          value: questionId,
        },
      ]
    : [];
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
      ...askHuman,
    ],
  };
}

export function markdownBlock(text: string): Block {
  return { type: 'markdown', text } as Block;
}
