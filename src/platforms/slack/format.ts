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
import { safeCut } from '../../render/split-markdown.js';

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

/** The most of an answer converted for its notification copy (see toMrkdwn). */
export const MRKDWN_INPUT_LIMIT = 1_500;

/**
 * mrkdwn for places that do not render markdown (notification text, context blocks), from
 * markdown already neutralised: the converter builds links itself, so its output is checked
 * again and any `<` that is not a web link it made is shown as text.
 */
export function toMrkdwn(neutralizedMarkdown: string): string {
  // The converter (remark) is super-linear on some emphasis runs ('_a' repeated: 35 s for 60,000
  // characters) and runs on the main thread; a notification shows a few lines, so it converts
  // only the start of the text. Every caller sends the whole answer in its blocks.
  const cut =
    neutralizedMarkdown.length > MRKDWN_INPUT_LIMIT
      ? `${neutralizedMarkdown.slice(0, safeCut(neutralizedMarkdown, MRKDWN_INPUT_LIMIT))}…`
      : neutralizedMarkdown;
  // The converter throws on a lone surrogate in a link; a notification copy must not.
  const text = wellFormed(cut);
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

/** Slack's limit on one text element of a context block. */
const CONTEXT_TEXT_LIMIT = 3_000;

function slackTitle(text: string): string {
  return slackPlainText(text.replace(/\s+/g, ' ').trim());
}

/** One source: its number, its title (linked when it has a web address), and its sections when several. */
function sourceItem(source: Source): string {
  const title = slackTitle(source.title);
  const target = slackLinkTarget(source.url);
  const head = target ? `*[${source.index}]* <${target}|${title}>` : `*[${source.index}]* ${title}`;
  const passages = source.passages ?? [];
  if (passages.length < 2) return head;
  const sections = passages.map((passage) => {
    const name = slackTitle(passage.section ?? source.title);
    const link = slackLinkTarget(passage.url);
    return link && link !== target ? `<${link}|${name}>` : name;
  });
  return `${head} (${[...new Set(sections)].join(' · ')})`;
}

/** Whole items joined, as many as fit `limit` characters after `lead`. */
function fitted(lead: string, items: readonly string[], separator: string, limit: number): string {
  let text = lead;
  for (const [i, item] of items.entries()) {
    const next = `${text}${i === 0 ? '' : separator}${item}`;
    if (next.length > limit) break;
    text = next;
  }
  return text;
}

/** The numbered sources an answer cites, and on a second line those it searched without citing. */
export function sourcesBlock(
  sources: readonly Source[],
  alsoSearched: readonly Source[] = [],
): KnownBlock | undefined {
  if (sources.length === 0) return undefined;
  const elements = [
    {
      type: 'mrkdwn' as const,
      text: fitted(`${strings.sourcesHeading}: `, sources.map(sourceItem), '   ', CONTEXT_TEXT_LIMIT),
    },
  ];
  if (alsoSearched.length > 0) {
    const items = alsoSearched.map((source) => {
      const target = slackLinkTarget(source.url);
      const title = slackTitle(source.title);
      return target ? `<${target}|${title}>` : title;
    });
    elements.push({
      type: 'mrkdwn',
      text: fitted(`_${strings.alsoSearched}:_ `, items, ', ', CONTEXT_TEXT_LIMIT),
    });
  }
  return { type: 'context', elements };
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
