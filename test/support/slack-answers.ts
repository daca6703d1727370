/**
 * Asking the bot through Bolt's real receiver as Slack would, and waiting for the end of its
 * answer in the Slack fake: the stream's stop, an edit, or a reply posted whole, carrying the
 * feedback buttons or a failure's notice.
 */
import { eventEnvelope, type FakeSlack, type SlackCall, sendToBolt } from '../fakes/slack/index.js';
import { waitFor } from './wait.js';

/** The call that ended the answer in the thread of `rootTs`, once it has come. */
export function answerEndIn(slack: FakeSlack, channel: string, rootTs: string): SlackCall | undefined {
  return slack.calls.find(
    (call) =>
      call.args.channel === channel &&
      /stopStream|update|postMessage/.test(call.method) &&
      slack.messages(channel).some((m) => m.thread_ts === rootTs && m.ts === (call.args.ts ?? m.ts)) &&
      /feedback_up|:warning:/.test(JSON.stringify(call.args)),
  );
}

export interface Mention {
  readonly eventsURL: string;
  readonly secret: string;
  readonly channel: string;
  readonly user: string;
  readonly question: string;
  /** The bot's user id as the mention names it. */
  readonly botUserId?: string;
  /** The workspace the event comes from (the fake's own by default). */
  readonly teamId?: string;
}

/** @mentions the bot; resolves with the arguments of the call that ended its answer, as JSON. */
export async function mentionAndAwaitAnswer(slack: FakeSlack, mention: Mention): Promise<string> {
  const text = `<@${mention.botUserId ?? 'UBOT'}> ${mention.question}`;
  const ts = slack.addUserMessage(mention.channel, mention.user, text);
  await sendToBolt(
    mention.eventsURL,
    eventEnvelope(
      { type: 'app_mention', user: mention.user, text, ts, channel: mention.channel },
      mention.teamId ?? slack.teamId,
    ),
    'application/json',
    { secret: mention.secret },
  );
  const end = await waitFor(
    () => answerEndIn(slack, mention.channel, ts),
    `the answer in ${mention.channel}`,
  );
  return JSON.stringify(end.args);
}
