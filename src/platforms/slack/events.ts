/**
 * The shapes of the Slack events the bot acts on, checked before use: a malformed event is
 * dropped with one log line instead of throwing half way or answering in the wrong place.
 * Messages from any bot or app (a `bot_id`, a bot profile, or the `bot_message` subtype)
 * are never questions: answering them would let two bots talk to each other forever.
 */
import * as v from 'valibot';
import { expected, jsonObject } from '../../validation.js';

const text = v.string(expected('string'));
const ts = v.pipe(text, v.regex(/^\d+\.\d+$/, 'a Slack timestamp'));
const id = v.pipe(text, v.regex(/^[A-Z0-9]+$/, 'a Slack id'));

/** What every posted message carries: who, where, when, and any files shared with it (read leniently by files.ts). */
const posted = {
  user: id,
  channel: id,
  ts,
  thread_ts: v.optional(ts),
  files: v.optional(v.array(v.unknown(), expected('array'))),
  /** The poster's own workspace, which in a channel shared with another organisation is theirs. */
  user_team: v.optional(id),
};

export const mentionEvent = jsonObject(
  v.object({
    ...posted,
    // Slack always sends text; without it the mention still deserves the usage hint.
    text: v.optional(text, ''),
  }),
);
export type MentionEvent = v.InferOutput<typeof mentionEvent>;

export const messageEvent = jsonObject(
  v.object({
    ...posted,
    // A file shared without a comment may come with no text.
    text: v.optional(text, ''),
    channel_type: v.optional(text),
    subtype: v.optional(text),
  }),
);
export type MessageEvent = v.InferOutput<typeof messageEvent>;

/** True for anything posted by a bot or app, whatever else the event says. */
export function fromAnyBot(event: object): boolean {
  const fields = event as { bot_id?: unknown; bot_profile?: unknown; subtype?: unknown };
  return Boolean(fields.bot_id) || Boolean(fields.bot_profile) || fields.subtype === 'bot_message';
}

/** Which fields were wrong, for the log line (never the text itself). */
export function describeProblem(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues.map((issue) => `${v.getDotPath(issue) || 'event'}: ${issue.message}`).join('; ');
}
