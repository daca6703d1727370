/**
 * Knowledge from the chat, end to end on Slack: the real Bolt app composed like `npm start`
 * (composeBot), the Slack fake, the Groq and Upstash fakes (a namespace per collection), and
 * the loopback docs site. A team adds its docs site with /kb, scopes it to a channel, saves a
 * resolved thread, and each channel's answers cite only its own collections.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Bot, composeBot } from '../../src/app/compose.js';
import { parseConfig } from '../../src/config.js';
import { strings } from '../../src/conversation/strings.js';
import { ingestPaths } from '../../src/ingest/pipeline.js';
import { createSlackAdapter, type SlackAdapter } from '../../src/platforms/slack/index.js';
import { type FakeDocsSite, startFakeDocsSite } from '../fakes/docs-site/index.js';
import {
  type FakeSlack,
  messageShortcutBody,
  sendToBolt,
  slashCommandBody,
  startFakeSlack,
} from '../fakes/slack/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { captureLogs } from '../support/logs.js';
import { mentionAndAwaitAnswer } from '../support/slack-answers.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'slack-signing-secret-for-tests';
const DOCS = 'C0DOCS';
const HR = 'C0HR';
const ADMIN = 'UADMIN';
const CONFIGURED_ADMIN = 'UCONFIG';
const MEMBER = 'UMEMBER';

let backends: Backends;
let slack: FakeSlack;
let site: FakeDocsSite;
let bot: Bot;
let adapter: SlackAdapter;
let eventsURL: string;
let dataDir: string;
let commands = 0;

async function kb(text: string, user: string, channel = DOCS): Promise<unknown[]> {
  const id = `kb${++commands}`;
  const response = await sendToBolt(
    eventsURL,
    slashCommandBody({
      command: '/kb',
      text,
      user_id: user,
      channel_id: channel,
      response_url: slack.responseURL(id),
    }),
    'application/x-www-form-urlencoded',
    { secret: SECRET },
  );
  expect(response.status).toBe(200);
  await waitFor(() => (slack.responses.get(id)?.length ?? 0) > 0, `the reply to /kb ${text}`);
  return slack.responses.get(id)!;
}

const texts = (replies: unknown[]) => replies.map((reply) => (reply as { text: string }).text);

/** Asks with a mention in `channel`; resolves with the final answer call's arguments as JSON. */
async function ask(channel: string, question: string): Promise<string> {
  return mentionAndAwaitAnswer(slack, { eventsURL, secret: SECRET, channel, user: MEMBER, question });
}

beforeAll(async () => {
  [backends, slack, site] = await Promise.all([startBackends(), startFakeSlack(), startFakeDocsSite()]);
  dataDir = await mkdtemp(join(tmpdir(), 'rag-slack-kb-'));
  const config = parseConfig({
    ...backends.env,
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiURL,
    RAG_DATA_DIR: dataDir,
    KNOWLEDGE_ROUTES: `${HR}=hr`,
    SLACK_ADMIN_USERS: CONFIGURED_ADMIN,
    CRAWL_DELAY_MS: '0',
    // The docs site is on the loopback, which /kb add refuses unless the operator allows it.
    CRAWL_ALLOW_PRIVATE: 'true',
    SYNC_INTERVAL: '6h',
  });
  const { logger } = captureLogs();
  bot = await composeBot(config, logger);
  // The HR channel's private handbook, in its own collection.
  const handbook = join(dataDir, 'hr-handbook.md');
  await writeFile(
    handbook,
    '# HR handbook\n\nInstalling the widget on a payroll laptop: HR installs the widget for you; open a people-team ticket.\n',
  );
  await ingestPaths(bot.runtime.store.collection('hr'), [handbook], { cwd: dataDir });
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
});

afterAll(async () => {
  await bot?.stop([adapter]);
  await Promise.all([backends?.close(), slack?.close(), site?.close()]);
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  backends.groq.setReply(() => 'Here is what the knowledge base says [1].');
});

describe('Slack: /kb and knowledge scoped to channels', () => {
  it('refuses a member who is not an admin, privately, changing nothing', async () => {
    const replies = await kb(`add ${site.url}/docs/ acme`, MEMBER);
    expect(replies[0]).toEqual({ response_type: 'ephemeral', text: strings.kb.notAdmin });
    expect(await bot.knowledge.sources()).toHaveLength(0);
  });

  it('lets a workspace admin add the docs site, crawls it, and reports the sync privately', async () => {
    const id = `kb${commands + 1}`;
    const replies = await kb(`add <${site.url}/docs/> acme`, ADMIN);
    expect(texts(replies)[0]).toContain('`acme`');
    await waitFor(() => (slack.responses.get(id)?.length ?? 0) >= 2, 'the sync summary');
    const summary = texts(slack.responses.get(id)!)[1]!;
    expect(summary).toContain(`Synced ${site.url}/docs/`);
    expect(summary).toContain('3 page(s) added');
    expect(
      slack.responses
        .get(id)!
        .every((reply) => (reply as { response_type: string }).response_type === 'ephemeral'),
    ).toBe(true);
  });

  it('lets a user listed in SLACK_ADMIN_USERS list the sources and see the status', async () => {
    const [list] = texts(await kb('list', CONFIGURED_ADMIN));
    expect(list).toContain(`#1 ${site.url}/docs/ → \`acme\`: 3 page(s)`);
    const [status] = texts(await kb('status', CONFIGURED_ADMIN, HR));
    expect(status).toContain('`hr`');
    expect(status).toContain('This channel reads: `hr` (from KNOWLEDGE_ROUTES)');
  });

  it('scopes the docs to a channel with /kb use; the same question in two channels cites only each one’s collection', async () => {
    const [used] = texts(await kb('use acme', ADMIN));
    expect(used).toContain('now reads `acme`');
    const question = 'How do I install the widget?';
    const inDocs = await ask(DOCS, question);
    const inHR = await ask(HR, question);
    expect(inDocs).toContain(`${site.url}/docs/install.html`);
    expect(inDocs).not.toContain('HR handbook');
    expect(inHR).toContain('HR handbook');
    expect(inHR).not.toContain(site.url);
    // A channel with no route reads only the default collection: neither private one.
    const elsewhere = await ask('C0OTHER', question);
    expect(elsewhere).not.toContain(site.url);
    expect(elsewhere).not.toContain('HR handbook');
  });

  it('saves a resolved thread (admins only), confirms privately, and later answers cite its permalink', async () => {
    const root = slack.addUserMessage(DOCS, MEMBER, 'How do I reset the zorblax on the widget?');
    slack.addUserMessage(DOCS, 'U0HELPER', 'Hold the blue button for ten seconds, thanks <@U0HELPER>', root);
    slack.addUserMessage(DOCS, 'UBOT', 'Resetting the zorblax: hold the blue button [1].', root);
    const shortcut = (user: string) =>
      sendToBolt(
        eventsURL,
        messageShortcutBody({
          callback_id: 'save_to_knowledge',
          user_id: user,
          channel_id: DOCS,
          message: { ts: root, text: 'How do I reset the zorblax on the widget?', user: MEMBER },
          response_url: slack.responseURL(`save-${user}`),
        }),
        'application/x-www-form-urlencoded',
        { secret: SECRET },
      );
    const confirmation = (user: string) =>
      waitFor(
        () =>
          slack
            .callsTo('chat.postEphemeral')
            .find((call) => call.args.user === user && call.args.thread_ts === root),
        'the private confirmation',
      );

    expect((await shortcut(MEMBER)).status).toBe(200);
    expect((await confirmation(MEMBER)).args.text).toBe(strings.save.notAllowed);

    await shortcut(ADMIN);
    expect((await confirmation(ADMIN)).args.text).toBe(strings.save.saved('acme', 3));
    const saved = await bot.runtime.store.search('reset the zorblax blue button', {
      topK: 3,
      collections: ['acme'],
    });
    expect(saved[0]?.url).toBe(slack.permalink(DOCS, root));
    expect(saved[0]?.text).toContain('Hold the blue button');
    expect(saved[0]?.text).not.toContain('U0HELPER'); // authors' mentions are stripped

    const answer = await ask(DOCS, 'How do I reset the zorblax?');
    expect(answer).toContain(slack.permalink(DOCS, root));
  });

  it('saves a reply that shared a file with its words, like any other reply', async () => {
    const root = slack.addUserMessage(DOCS, MEMBER, 'How do I recalibrate the quonset gauge?');
    const screenshot = slack.addFile({ name: 'gauge.txt', content: 'gauge panel' });
    // Slack gives a message sharing a file the subtype file_share.
    slack.addUserMessage(DOCS, 'U0HELPER', 'Turn the quonset dial twice, as in this photo', root, [
      screenshot,
    ]);
    await sendToBolt(
      eventsURL,
      messageShortcutBody({
        callback_id: 'save_to_knowledge',
        user_id: ADMIN,
        channel_id: DOCS,
        message: { ts: root, text: 'How do I recalibrate the quonset gauge?', user: MEMBER },
        response_url: slack.responseURL('save-file-share'),
      }),
      'application/x-www-form-urlencoded',
      { secret: SECRET },
    );
    const confirmation = await waitFor(
      () =>
        slack
          .callsTo('chat.postEphemeral')
          .find((call) => call.args.user === ADMIN && call.args.thread_ts === root),
      'the private confirmation',
    );
    expect(confirmation.args.text).toBe(strings.save.saved('acme', 2));
    const saved = await bot.runtime.store.search('recalibrate quonset dial', {
      topK: 3,
      collections: ['acme'],
    });
    expect(saved.find((passage) => passage.url === slack.permalink(DOCS, root))?.text).toContain(
      'Turn the quonset dial twice',
    );
  });

  it('re-syncs on the schedule: a changed page is answered from, a removed one no longer is', async () => {
    site.setPage(
      '/docs/install.html',
      'Installing the widget',
      'Install the widget with the quuxinator tool.',
    );
    site.removePage('/docs/billing.html');
    const schedule = bot.startSyncSchedule()!;
    // Synced just now by /kb add: the schedule's check leaves it until an interval has passed.
    site.clearRequests();
    await schedule.tick();
    expect((await bot.knowledge.sources())[0]?.lastStatus).toBe('ok');
    expect(site.fetched()).not.toContain('/docs/install.html');
    // Six hours on (its last sync moved back as the clock would): the next check syncs it.
    bot
      .appDatabase()
      .db.prepare('UPDATE knowledge_sources SET last_sync_at = ?')
      .run(new Date(Date.now() - 6 * 3_600_000).toISOString());
    await schedule.tick();
    const acme = (query: string) => bot.runtime.store.search(query, { topK: 3, collections: ['acme'] });
    expect((await acme('quuxinator'))[0]?.url).toBe(`${site.url}/docs/install.html`);
    expect((await acme('invoices quarter Monday')).map((p) => p.url)).not.toContain(
      `${site.url}/docs/billing.html`,
    );
    const [status] = texts(await kb('status', ADMIN));
    expect(status).toMatch(/#1 .* 2 page\(s\).* ok/);
    expect(status).toContain('Sources re-sync every 360 minute(s).');
  });

  it('removes a source and its pages with /kb remove', async () => {
    const [removed] = texts(await kb('remove 1', ADMIN));
    expect(removed).toContain(`Removed ${site.url}/docs/ and its 2 page(s)`);
    expect(
      await bot.runtime.store.search('frobnicator install widget', { topK: 3, collections: ['acme'] }),
    ).not.toEqual(
      expect.arrayContaining([expect.objectContaining({ url: `${site.url}/docs/install.html` })]),
    );
    expect(await bot.knowledge.sources()).toHaveLength(0);
  });
});
