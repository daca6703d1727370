/**
 * A thread's messages as conversations.replies gives them: oldest first, a page at a time,
 * the parent first on the first page. Slack caps a page (100 or 1,000 for most apps, 15 for
 * apps distributed outside the Marketplace) and says through `response_metadata.next_cursor`
 * that more follow, and its only way to a long thread's newest messages is a time range
 * (`oldest`, `latest`). Both readers here make a bounded number of calls, since
 * conversations.replies is rate-limited per workspace.
 */
import type { webApi } from '@slack/bolt';

export interface ThreadPagesOptions {
  readonly channel: string;
  /** The thread's parent ts (or any message's, for that message alone). */
  readonly ts: string;
  /** Messages asked for per page (Slack may give fewer). */
  readonly limit?: number;
  /**
   * Pages read at most (3): a thread of up to a page costs one call as before, a longer one a
   * few (conversations.replies is rate-limited per workspace), and one longer still is read
   * only so far.
   */
  readonly maxPages?: number;
  /** Message metadata (answers and /ask echoes carry theirs). */
  readonly includeMetadata?: boolean;
}

/** The fields of a message the readers rely on. */
export interface ThreadMessage {
  ts?: string;
  reply_count?: number;
  latest_reply?: string;
}

export async function* threadPages<Message>(
  client: webApi.WebClient,
  options: ThreadPagesOptions,
): AsyncGenerator<Message[]> {
  let cursor: string | undefined;
  for (let page = 0; page < (options.maxPages ?? 3); page++) {
    const replies = await client.conversations.replies({
      channel: options.channel,
      ts: options.ts,
      limit: options.limit ?? 200,
      ...(options.includeMetadata ? { include_all_metadata: true } : {}),
      ...(cursor ? { cursor } : {}),
    });
    yield (replies.messages ?? []) as Message[];
    cursor = replies.response_metadata?.next_cursor || undefined;
    if (!replies.has_more || !cursor) return;
  }
}

export interface ThreadTailOptions extends ThreadPagesOptions {
  /** The newest message wanted (the question being answered); absent: the thread's newest. */
  readonly latest?: string;
  /** Replies wanted from a long thread's end (more if a window brings more). */
  readonly wanted: number;
}

export interface ThreadTail<Message> {
  /** The thread's first message, when Slack gave it. */
  readonly parent: Message | undefined;
  /**
   * The thread's newest replies up to `latest` (inclusive), oldest first and without gaps: the
   * whole thread when it is short, else as many of its last replies as the calls found.
   */
  readonly replies: Message[];
  /** Replies read that are not among `replies` (older ones, from the thread's first page). */
  readonly older: Message[];
  /** conversations.replies calls made. */
  readonly calls: number;
}

/** Messages a second a thread is assumed never to exceed for long (people typing, and bots Slack rate-limits). */
const MAX_PACE = 2;
/** A Slack ts as seconds (precise to well under the windows it is used for). */
const seconds = (ts: string) => Number(ts);
/** Seconds as a Slack ts: six decimals, as Slack writes them. */
const asTs = (value: number) => value.toFixed(6);
const tsOf = (message: ThreadMessage) => message.ts ?? '';
/** Slack ts order: whole seconds, then the six-digit fraction. */
const before = (a: string, b: string) => {
  const [as = '0', af = ''] = a.split('.');
  const [bs = '0', bf = ''] = b.split('.');
  return as.length !== bs.length
    ? as.length < bs.length
    : as !== bs
      ? as < bs
      : af.padEnd(6, '0') < bf.padEnd(6, '0');
};

/**
 * The newest replies of a thread up to `latest`, in at most `maxPages` calls. The first call
 * reads the thread from its start up to `latest`: a thread of up to a page ends there. A longer
 * one is read backwards from `latest` in time windows, each sized from what was seen so far to
 * hold about three quarters of a page: a window that holds more than a page is narrowed, one
 * that holds too few is followed by the window before it, so the replies kept are always the
 * newest and contiguous.
 */
export async function threadTail<Message extends ThreadMessage>(
  client: webApi.WebClient,
  options: ThreadTailOptions,
): Promise<ThreadTail<Message>> {
  const maxCalls = Math.max(1, options.maxPages ?? 3);
  const limit = options.limit ?? 200;
  let calls = 0;
  const read = async (range: { oldest?: string; latest?: string }) => {
    calls++;
    const page = await client.conversations.replies({
      channel: options.channel,
      ts: options.ts,
      limit,
      ...(options.includeMetadata ? { include_all_metadata: true } : {}),
      ...range,
      ...(range.oldest || range.latest ? { inclusive: true } : {}),
    });
    const messages = (page.messages ?? []) as Message[];
    return {
      parent: messages.find((message) => message.ts === options.ts),
      replies: messages.filter((message) => message.ts !== options.ts),
      more: page.has_more === true && Boolean(page.response_metadata?.next_cursor),
    };
  };

  const first = await read(options.latest ? { latest: options.latest } : {});
  const parent = first.parent;
  if (!first.more || maxCalls === 1) return { parent, replies: first.replies, older: [], calls };

  // Longer than a page. Slack gives fewer than asked to apps it caps: a page is what it gave.
  const head = first.replies;
  const reached = tsOf(head.at(-1) ?? {}) || options.ts;
  const end = options.latest ?? parent?.latest_reply;
  if (!end || !before(reached, end)) return { parent, replies: head, older: [], calls };
  const page = first.replies.length + (parent ? 1 : 0);
  /** The newest replies read, oldest first and without a gap, ending at `end`. */
  let tail: Message[] = [];
  // A window aims at three quarters of a page, so one a little fuller than expected still fits.
  const aim = () => Math.max(1, Math.min(options.wanted - tail.length, Math.floor(page * 0.75)));
  // The thread's pace: its unread replies spread over the time left, else its first page's.
  const unread = parent?.reply_count !== undefined ? parent.reply_count - head.length : undefined;
  const span = seconds(end) - seconds(reached);
  let pace =
    unread !== undefined && unread > 0
      ? unread / span
      : head.length / Math.max(seconds(reached) - seconds(options.ts), 1e-3);

  let windowEnd = end;
  let overflowed: Message[] = [];
  let width = Math.min(span, aim() / Math.max(pace, 1e-9));
  while (calls < maxCalls) {
    // The last call with nothing kept yet must not overflow: no thread is written faster than
    // a few messages a second, so a window of that many seconds holds at most about a page.
    if (calls === maxCalls - 1 && tail.length === 0) width = Math.min(width, aim() / MAX_PACE);
    const start = seconds(windowEnd) - width;
    const reachesHead = start <= seconds(reached);
    const window = await read({ oldest: reachesHead ? reached : asTs(start), latest: windowEnd });
    const got = window.replies.filter((message) => !before(tsOf(message), reached));
    if (window.more) {
      // More than a page in the window: it holds the newest replies, but this page has only its
      // oldest. Narrow it to the pace of the newest half of what came back (a thread speeds up
      // and slows down); once newer replies are kept, this older part would leave a gap: stop.
      if (tail.length > 0) break;
      overflowed = got;
      const half = got.slice(Math.floor(got.length / 2));
      const spanned =
        seconds(tsOf(half.at(-1) ?? {}) || windowEnd) - seconds(tsOf(half[0] ?? {}) || asTs(start));
      pace = Math.max(half.length / Math.max(spanned, 1e-3), pace);
      width = Math.min(width / 2, aim() / pace);
      continue;
    }
    // The whole window is read: it joins the newest replies without a gap.
    const known = new Set(tail.map(tsOf));
    tail = [...got.filter((message) => !known.has(tsOf(message))), ...tail];
    if (reachesHead) {
      const kept = new Set(tail.map(tsOf));
      return { parent, replies: [...head.filter((m) => !kept.has(tsOf(m))), ...tail], older: [], calls };
    }
    if (tail.length >= options.wanted) break;
    // Too few: the window before this one, sized at the pace this one had.
    if (got.length > 0) pace = got.length / width;
    windowEnd = asTs(start);
    width = got.length > 0 ? aim() / pace : width * 8;
  }
  // Out of calls while every window was too full: the newest part seen is the best there is.
  const replies = tail.length > 0 ? tail : overflowed;
  const kept = new Set(replies.map(tsOf));
  return { parent, replies, older: head.filter((message) => !kept.has(tsOf(message))), calls };
}
