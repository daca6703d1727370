/**
 * A thread's messages as conversations.replies gives them: oldest first, a page at a time.
 * Slack caps a page (100 or 1,000 for most apps, 15 for apps distributed outside the
 * Marketplace) and says through `response_metadata.next_cursor` that more follow, so a long
 * thread's newest messages are on its last page. Pages are read up to a bound, so a thread of
 * ten thousand replies costs a bounded number of calls.
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
