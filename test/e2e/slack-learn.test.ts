/**
 * `/kb learn` end to end on Slack: the real Bolt app composed like `npm start`, the Slack fake
 * delivering `reaction_added` / `reaction_removed` as Slack does, and the Groq and Upstash
 * fakes. A thread the asker marks ✅ in a learning channel becomes knowledge that answers in
 * another thread, un-marking removes it, and private channels never learn.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Bot, composeBot } from '../../src/app/compose.js';
import { parseConfig } from '../../src/config.js';
import { strings } from '../../src/conversation/strings.js';
import { createSlackAdapter, type SlackAdapter } from '../../src/platforms/slack/index.js';
import {
  eventEnvelope,
  type FakeSlack,
  reactionEvent,
  sendToBolt,
  slashCommandBody,
  startFakeSlack,
} from '../fakes/slack/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { captureLogs } from '../support/logs.js';
import { mentionAndAwaitAnswer } from '../support/slack-answers.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'slack-signing-secret-for-tests';
const SUPPORT = 'C0SUPPORT';
const PRIVATE = 'C0SECRET';
const ADMIN = 'UADMIN';
const ASKER = 'UASKER';
const HELPER = 'UHELPER';
const OTHER = 'UOTHER';

let backends: Backends;
let slack: FakeSlack;
let bot: Bot;
let adapter: SlackAdapter;
let eventsURL: string;
let dataDir: string;
let commands = 0;
let questions = 0;

async function kb(text: string, channel: string): Promise<string> {
  const id = `kb${++commands}`;
  await sendToBolt(
    eventsURL,
    slashCommandBody({
      command: '/kb',
      text,
      user_id: ADMIN,
      channel_id: channel,
      response_url: slack.responseURL(id),
    }),
    'application/x-www-form-urlencoded',
    { secret: SECRET },
  );
  await waitFor(() => (slack.responses.get(id)?.length ?? 0) > 0, `the reply to /kb ${text}`);
  return (slack.responses.get(id)![0] as { text: string }).text;
}

async function react(fields: {
  added: boolean;
  user: string;
  reaction?: string;
  channel?: string;
  ts: string;
}) {
  const response = await sendToBolt(
    eventsURL,
    eventEnvelope(reactionEvent({ reaction: 'white_check_mark', channel: SUPPORT, ...fields }), slack.teamId),
    'application/json',
    { secret: SECRET },
  );
  expect(response.status).toBe(200);
}

async function ask(channel: string, question: string): Promise<string> {
  return mentionAndAwaitAnswer(slack, {
    eventsURL,
    secret: SECRET,
    channel,
    user: `UQ${++questions}`,
    question,
  });
}

const search = (query: string) => bot.runtime.store.search(query, { topK: 3, collections: ['support'] });

beforeAll(async () => {
  [backends, slack] = await Promise.all([startBackends(), startFakeSlack()]);
  dataDir = await mkdtemp(join(tmpdir(), 'rag-slack-learn-'));
  const config = parseConfig({
    ...backends.env,
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiURL,
    RAG_DATA_DIR: dataDir,
    KNOWLEDGE_ROUTES: `${SUPPORT}=support;${PRIVATE}=secret`,
  });
  const { logger } = captureLogs();
  bot = await composeBot(config, logger);
  adapter = createSlackAdapter({
    config: config.slack!,
    port: 0,
    conversations: bot.conversations,
    knowledge: bot.knowledge,
    logger,
  });
  await adapter.start();
  eventsURL = `http://127.0.0.1:${adapter.port}/slack/events`;
  slack.makeAdmin(ADMIN);
  slack.setChannelKind(PRIVATE, 'private');
});

afterAll(async () => {
  await bot?.stop([adapter]);
  await Promise.all([backends?.close(), slack?.close()]);
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  backends.groq.setReply(() => 'Here is what the knowledge base says [1].');
});

describe('Slack: /kb learn', () => {
  it('refuses a private channel, and says where it learns in a public one', async () => {
    expect(await kb('learn', PRIVATE)).toContain('only public channels can learn');
    expect(await kb('learn', SUPPORT)).toBe(strings.kb.learnOn('support'));
    expect(await kb('status', SUPPORT)).toContain(strings.kb.learningStatus(0));
  });

  it('saves a thread its asker marks ✅ on a reply (names left out), which then answers in another thread with its link', async () => {
    const root = slack.addUserMessage(SUPPORT, ASKER, 'How do I reset the frobulator after a power cut?');
    const answer = slack.addUserMessage(
      SUPPORT,
      HELPER,
      `Hold the glimmer button for ten seconds <@${HELPER}>.`,
      root,
    );
    // Someone else's ✅ is not the asker's or an admin's: nothing is learned.
    await react({ added: true, user: OTHER, ts: answer });
    // The handler asks whether they are an admin, and stops there.
    await waitFor(
      () => slack.callsTo('users.info').some((call) => call.args.user === OTHER),
      'the admin check',
    );
    expect(await search('reset frobulator glimmer button')).toEqual([]);

    await react({ added: true, user: ASKER, ts: answer });
    const told = await waitFor(
      () => slack.ephemerals(SUPPORT).find((e) => e.user === ASKER && e.thread_ts === root),
      'the private note to the asker',
    );
    expect(told.text).toBe(strings.kb.learned('support'));
    const [saved] = await search('reset frobulator glimmer button');
    expect(saved?.url).toBe(slack.permalink(SUPPORT, root));
    expect(saved?.text).not.toContain(HELPER);

    const reply = await ask(SUPPORT, 'How do I reset the frobulator?');
    expect(reply).toContain(slack.permalink(SUPPORT, root));
    expect(await kb('status', SUPPORT)).toContain(strings.kb.learningStatus(1));
  });

  it('learns a thread started by /ask when its asker marks a reply (the asker and question come from the echo’s metadata)', async () => {
    await sendToBolt(
      eventsURL,
      slashCommandBody({
        command: '/ask',
        text: 'Why does the quibble pump squeal?',
        user_id: ASKER,
        channel_id: SUPPORT,
        response_url: slack.responseURL('ask-learn'),
      }),
      'application/x-www-form-urlencoded',
      { secret: SECRET },
    );
    const echo = await waitFor(
      () => slack.messages(SUPPORT).find((m) => m.text.includes('Why does the quibble pump squeal?')),
      'the /ask echo',
    );
    const fix = slack.addUserMessage(SUPPORT, HELPER, 'Grease the quibble pump bearing monthly.', echo.ts);
    await react({ added: true, user: ASKER, ts: fix });
    await waitFor(
      () => slack.ephemerals(SUPPORT).find((e) => e.user === ASKER && e.thread_ts === echo.ts),
      'the private note to the asker',
    );
    const [saved] = await search('quibble pump squeal grease bearing');
    expect(saved?.url).toBe(slack.permalink(SUPPORT, echo.ts));
    expect(saved?.text).toContain('Why does the quibble pump squeal?');
    expect(saved?.text).not.toContain('asked:');
  });

  it('removes the thread again when the ✅ is taken away', async () => {
    const root = slack
      .messages(SUPPORT)
      .find((m) => m.text.startsWith('How do I reset the frobulator after'))!.ts;
    const marked = slack.messages(SUPPORT).find((m) => m.text.startsWith('Hold the glimmer button'))!.ts;
    await react({ added: false, user: ASKER, ts: marked });
    await waitFor(
      () => slack.ephemerals(SUPPORT).find((e) => e.user === ASKER && e.text === strings.kb.unlearned),
      'the note that it was removed',
    );
    expect((await search('reset frobulator glimmer button')).map((passage) => passage.url)).not.toContain(
      slack.permalink(SUPPORT, root),
    );
  });

  it('keeps a thread while another qualifying mark is on it: only the last one taken away removes it', async () => {
    const root = slack.addUserMessage(SUPPORT, ASKER, 'How do I drain the snorkel tank?');
    const fix = slack.addUserMessage(
      SUPPORT,
      HELPER,
      'Open the snorkel valve under the tank for a minute.',
      root,
    );
    await react({ added: true, user: ASKER, ts: fix });
    await waitFor(async () => (await search('drain snorkel tank valve')).length > 0, 'the learned thread');
    await react({ added: true, user: ADMIN, reaction: 'heavy_check_mark', ts: root });
    await waitFor(
      () => slack.ephemerals(SUPPORT).filter((e) => e.user === ADMIN && e.thread_ts === root).length > 0,
      'the note to the admin',
    );
    // The asker takes theirs away; the admin's is still on the thread.
    const links = slack.callsTo('chat.getPermalink').length;
    await react({ added: false, user: ASKER, ts: fix });
    await waitFor(() => slack.callsTo('chat.getPermalink').length > links, 'the un-mark handled');
    expect((await search('drain snorkel tank valve')).map((passage) => passage.url)).toContain(
      slack.permalink(SUPPORT, root),
    );
    await react({ added: false, user: ADMIN, reaction: 'heavy_check_mark', ts: root });
    await waitFor(
      () => slack.ephemerals(SUPPORT).find((e) => e.user === ADMIN && e.text === strings.kb.unlearned),
      'the note that it was removed',
    );
    expect((await search('drain snorkel tank valve')).map((passage) => passage.url)).not.toContain(
      slack.permalink(SUPPORT, root),
    );
  });

  it('lets an admin mark with ✔️ too; /kb learn off stops learning', async () => {
    const root = slack.addUserMessage(SUPPORT, OTHER, 'Where is the wibble config kept?');
    slack.addUserMessage(SUPPORT, HELPER, 'The wibble config lives in /etc/wibble.toml.', root);
    await react({ added: true, user: ADMIN, reaction: 'heavy_check_mark', ts: root });
    await waitFor(async () => (await search('wibble config etc')).length > 0, 'the learned thread');

    expect(await kb('learn off', SUPPORT)).toBe(strings.kb.learnOff);
    const later = slack.addUserMessage(SUPPORT, OTHER, 'What colour is the zorp lamp?');
    slack.addUserMessage(SUPPORT, HELPER, 'The zorp lamp is teal.', later);
    await react({ added: true, user: ADMIN, ts: later });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await search('zorp lamp teal')).map((passage) => passage.url)).not.toContain(
      slack.permalink(SUPPORT, later),
    );
  });
});

describe('Slack: /kb learn with an app installed before it needed channels:read', () => {
  it('names the missing scope instead of calling the channel private', async () => {
    const { WebClient } = await import('@slack/web-api');
    const { isPublicSlackChannel } = await import('../../src/platforms/slack/handlers/learn.js');
    const older = await startFakeSlack({ scopes: ['chat:write', 'commands', 'users:read'] });
    try {
      const client = new WebClient(older.token, { slackApiUrl: older.apiURL, retryConfig: { retries: 0 } });
      await expect(isPublicSlackChannel(client, SUPPORT)).rejects.toThrow(/lacks the channels:read scope/);
    } finally {
      await older.close();
    }
  });
});
