/**
 * The shapes of the Slack events the bot acts on, checked before use: a malformed event is
 * dropped with one log line instead of throwing half way or answering in the wrong place.
 * Messages from any bot or app (a `bot_id`, a bot profile, or the `bot_message` subtype)
 * are never questions: answering them would let two bots talk to each other forever.
 */
import { z } from 'zod';

const ts = z.string().regex(/^\d+\.\d+$/, 'a Slack timestamp');
const id = z.string().regex(/^[A-Z0-9]+$/, 'a Slack id');

export const mentionEvent = z.object({
  user: id,
  channel: id,
  ts,
  thread_ts: ts.optional(),
  // Slack always sends text; without it the mention still deserves the usage hint.
  text: z.string().optional().default(''),
  /** Files shared with the mention; read leniently by files.ts. */
  files: z.array(z.unknown()).optional(),
});
export type MentionEvent = z.infer<typeof mentionEvent>;

export const messageEvent = z.object({
  user: id,
  channel: id,
  ts,
  thread_ts: ts.optional(),
  // A file shared without a comment may come with no text.
  text: z.string().optional().default(''),
  channel_type: z.string().optional(),
  subtype: z.string().optional(),
  files: z.array(z.unknown()).optional(),
});
export type MessageEvent = z.infer<typeof messageEvent>;

/** True for anything posted by a bot or app, whatever else the event says. */
export function fromAnyBot(event: object): boolean {
  const fields = event as { bot_id?: unknown; bot_profile?: unknown; subtype?: unknown };
  return Boolean(fields.bot_id) || Boolean(fields.bot_profile) || fields.subtype === 'bot_message';
}

/** Which fields were wrong, for the log line (never the text itself). */
export function describeProblem(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'event'}: ${issue.message}`).join('; ');
}
