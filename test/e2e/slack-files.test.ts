/**
 * Files in questions on Slack, end to end: real Bolt against the Slack fake (which serves
 * url_private_download to the bot token only), the real core, Groq and Upstash fakes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildRuntime, type Runtime } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config.js';
import { createSlackAdapter, type SlackAdapter } from '../../src/platforms/slack/index.js';
import { answering, type FakeGroq } from '../fakes/groq/index.js';
import {
  eventEnvelope,
  type FakeSlack,
  type FakeSlackFile,
  sendToBolt,
  startFakeSlack,
} from '../fakes/slack/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { layerOver } from '../support/conversations.js';
import { BUDGET_CSV, PNG_BYTES, promptContext, tinyPdf } from '../support/files.js';
import { captureLogs } from '../support/logs.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'slack-signing-secret-for-tests';
const CHANNEL = 'C0FILES';
const MB = 1024 * 1024;
const MIN_SCORE = '0.7';

let backends: Backends;
let groq: FakeGroq;
let slack: FakeSlack;
let adapter: SlackAdapter;
let runtime: Runtime;
let eventsURL: string;
let dataDir: string;
let logLines: string[] = [];

const inThread = (rootTs: string) => (c: { args: Record<string, unknown> }) =>
  c.args.thread_ts === rootTs ||
  slack.messages(CHANNEL).some((m) => m.ts === c.args.ts && m.thread_ts === rootTs);

/** The call that ended the answer in a thread: it carries the feedback buttons. */
function answered(rootTs: string) {
  return slack.calls.find(
    (c) =>
      c.args.channel === CHANNEL && inThread(rootTs)(c) && JSON.stringify(c.args).includes('feedback_up'),
  );
}

/** The notes the bot posted in a thread (its `:warning:` messages). */
function notes(rootTs: string): string[] {
  return slack
    .callsTo('chat.postMessage')
    .filter((c) => c.args.channel === CHANNEL && c.args.thread_ts === rootTs)
    .map((c) => String(c.args.text))
    .filter((text) => text.startsWith(':warning:'));
}

async function mention(text: string, files: FakeSlackFile[], threadTs?: string): Promise<string> {
  const ts = slack.addUserMessage(CHANNEL, 'U1', text, threadTs, files);
  await sendToBolt(
    eventsURL,
    eventEnvelope(
      {
        type: 'app_mention',
        user: 'U1',
        text,
        ts,
        channel: CHANNEL,
        ...(threadTs ? { thread_ts: threadTs } : {}),
        ...(files.length > 0 ? { files } : {}),
      },
      slack.teamId,
    ),
    'application/json',
    { secret: SECRET },
  );
  return ts;
}

beforeAll(async () => {
  [backends, slack] = await Promise.all([startBackends(), startFakeSlack()]);
  ({ groq } = backends);
  dataDir = await mkdtemp(join(tmpdir(), 'rag-slack-files-'));
  const config = parseConfig({
    ...backends.env,
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiURL,
    RAG_DATA_DIR: dataDir,
    // Above the fake embedding's background similarity: questions about the files find nothing in the store.
    RAG_MIN_SCORE: MIN_SCORE,
  });
  const captured = captureLogs();
  logLines = captured.lines;
  runtime = await buildRuntime(config, { logger: captured.logger });
  adapter = createSlackAdapter({
    config: config.slack!,
    port: 0,
    conversations: layerOver(runtime.answerer, { logger: captured.logger }),
    logger: captured.logger,
  });
  await adapter.start();
  eventsURL = `http://127.0.0.1:${adapter.port}/slack/events`;
});

afterAll(async () => {
  await adapter?.stop();
  await Promise.all([backends?.close(), slack?.close()]);
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  groq.clearFaults();
  groq.setReply(
    answering((request) => {
      const context = promptContext(request.body.messages);
      if (context.includes('Lisbon offsite venue'))
        return 'The venue costs 18,400 EUR and Marta owns it [1].';
      if (context.includes('rollback window')) return 'The rollback window is 30 minutes [1].';
      return 'Here is what the passages say [1].';
    }),
  );
});

describe('Slack: files in questions', () => {
  it('answers a mention from an attached CSV the knowledge base knows nothing about, citing the file, without storing it', async () => {
    const before = await runtime.store.stats();
    const upserts = backends.upstash.requests.filter((r) => /upsert/.test(r.command)).length;
    const file = slack.addFile({
      name: 'q3-budget.csv',
      content: BUDGET_CSV,
      mimetype: 'text/csv',
      filetype: 'csv',
    });
    const ts = await mention('<@UBOT> how much does the Lisbon offsite venue cost and who owns it?', [file]);
    const end = await waitFor(() => answered(ts), 'the answer from the file');

    // The store alone has nothing on this: without the file it would refuse to guess.
    const found = await runtime.store.search('how much does the Lisbon offsite venue cost and who owns it?', {
      topK: 3,
    });
    expect(found.filter((passage) => passage.score >= Number(MIN_SCORE))).toEqual([]);
    const context = promptContext(groq.chatRequests().at(-1)?.body.messages);
    expect(context.match(/<passage /g)).toHaveLength(1);
    expect(context).toContain('source="q3-budget.csv (attached)"');
    expect(context).toContain('Lisbon offsite venue,Marta,18400');
    const reply = slack.messages(CHANNEL).find((m) => m.thread_ts === ts && m.bot_id);
    expect(reply?.text).toContain('The venue costs 18,400 EUR');
    expect(JSON.stringify(end.args.blocks)).toContain('*[1]* q3-budget.csv');
    expect(notes(ts)).toEqual([]);
    // Downloaded once, with the bot token; read for this answer only.
    expect(slack.downloads.filter((d) => d.fileId === file.id)).toEqual([
      { fileId: file.id, authorized: true },
    ]);
    expect(await runtime.store.stats()).toEqual(before);
    expect(backends.upstash.requests.filter((r) => /upsert/.test(r.command)).length).toBe(upserts);
    // Neither the file's contents nor the token reach the logs.
    expect(logLines.join('\n')).not.toContain('Lisbon offsite venue');
    expect(logLines.join('\n')).not.toContain(slack.token);
  });

  it('reads a PDF and a Markdown file shared earlier in the thread when asked there', async () => {
    const root = slack.addUserMessage(CHANNEL, 'U2', 'Release checklist thread');
    const pdf = slack.addFile({
      name: 'release.pdf',
      content: tinyPdf('The rollback window is 30 minutes after each deploy.'),
      mimetype: 'application/pdf',
      filetype: 'pdf',
    });
    const notesFile = slack.addFile({
      name: 'notes.md',
      content: '# Notes\n\nShip on Tuesdays.',
      filetype: 'markdown',
    });
    slack.addUserMessage(CHANNEL, 'U2', 'here are the docs', root, [pdf, notesFile]);
    await mention('<@UBOT> how long is the rollback window?', [], root);
    await waitFor(() => answered(root), 'the answer in the thread');
    const context = promptContext(groq.chatRequests().at(-1)?.body.messages);
    expect(context).toContain('The rollback window is 30 minutes after each deploy.');
    expect(context).toContain('Ship on Tuesdays.');
    expect(JSON.stringify(answered(root)?.args.blocks)).toContain('release.pdf');
  });

  it('answers a file shared in a DM with no words (a file_share message)', async () => {
    const file = slack.addFile({
      name: 'budget.csv',
      content: BUDGET_CSV,
      mimetype: 'text/csv',
      filetype: 'csv',
    });
    const ts = slack.addUserMessage('D0FILES', 'U3', '', undefined, [file]);
    await sendToBolt(
      eventsURL,
      eventEnvelope(
        {
          type: 'message',
          subtype: 'file_share',
          channel_type: 'im',
          user: 'U3',
          text: '',
          ts,
          channel: 'D0FILES',
          files: [file],
        },
        slack.teamId,
      ),
      'application/json',
      { secret: SECRET },
    );
    await waitFor(
      () =>
        slack.calls.find(
          (c) => c.args.channel === 'D0FILES' && JSON.stringify(c.args).includes('feedback_up'),
        ),
      'the DM answer',
    );
    const last = groq.chatRequests().at(-1)?.body.messages?.at(-1)?.content ?? '';
    expect(last).toContain('Question: What does the attached file say?');
    expect(last).toContain('Lisbon offsite venue');
  });

  it('answers a file dropped into the assistant thread (a file_share message Bolt gives the assistant)', async () => {
    const file = slack.addFile({
      name: 'budget.csv',
      content: BUDGET_CSV,
      mimetype: 'text/csv',
      filetype: 'csv',
    });
    const DM = 'D0ASSIST';
    const root = slack.addUserMessage(DM, 'U4', 'Budget questions');
    const ts = slack.addUserMessage(DM, 'U4', '', root, [file]);
    await sendToBolt(
      eventsURL,
      eventEnvelope(
        {
          type: 'message',
          subtype: 'file_share',
          channel_type: 'im',
          user: 'U4',
          text: '',
          ts,
          thread_ts: root,
          channel: DM,
          files: [file],
        },
        slack.teamId,
      ),
      'application/json',
      { secret: SECRET },
    );
    await waitFor(
      () => slack.calls.find((c) => c.args.channel === DM && JSON.stringify(c.args).includes('feedback_up')),
      'the answer in the assistant thread',
    );
    const last = groq.chatRequests().at(-1)?.body.messages?.at(-1)?.content ?? '';
    expect(last).toContain('Question: What does the attached file say?');
    expect(last).toContain('Lisbon offsite venue');
    expect(slack.callsTo('assistant.threads.setStatus').some((c) => c.args.channel_id === DM)).toBe(true);
  });

  it('gives an oversized file and an image one line each, without downloading them, and still answers', async () => {
    const big = slack.addFile({ name: 'dump.log', content: 'x', declaredSize: 6 * MB });
    const image = slack.addFile({
      name: 'screenshot.png',
      content: PNG_BYTES,
      mimetype: 'image/png',
      filetype: 'png',
    });
    const ts = await mention('<@UBOT> how do I add the bot to Slack?', [big, image]);
    await waitFor(() => answered(ts), 'the answer');
    const [note, ...more] = notes(ts);
    expect(more).toEqual([]);
    const lines = note!.replace(':warning: ', '').split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/didn't read “dump\.log”: it is over the 5 MB limit/);
    expect(lines[1]).toMatch(/can't read “screenshot\.png”/);
    expect(slack.downloads.some((d) => d.fileId === big.id || d.fileId === image.id)).toBe(false);
  });

  it('notes an unreadable file earlier in the thread once, not again on every follow-up', async () => {
    const root = slack.addUserMessage(CHANNEL, 'U4', 'Design review');
    const image = slack.addFile({
      name: 'mockup.png',
      content: PNG_BYTES,
      mimetype: 'image/png',
      filetype: 'png',
    });
    slack.addUserMessage(CHANNEL, 'U4', 'the mockup', root, [image]);
    await mention('<@UBOT> how do I add the bot to Slack?', [], root);
    await waitFor(() => answered(root), 'the first answer');
    expect(notes(root)).toHaveLength(1);
    expect(notes(root)[0]).toContain('mockup.png');
    const before = slack.calls.filter((c) => JSON.stringify(c.args).includes('feedback_up')).length;
    await mention('<@UBOT> which scopes does the Slack app need?', [], root);
    await waitFor(
      () => slack.calls.filter((c) => JSON.stringify(c.args).includes('feedback_up')).length > before,
      'the second answer',
    );
    expect(notes(root)).toHaveLength(1);
  });

  it('says so when a download fails (404) or is refused (401), instead of ignoring the file', async () => {
    const gone = slack.addFile({ name: 'gone.txt', content: 'x', failWith: 404 });
    const refused = slack.addFile({ name: 'secret.txt', content: 'x', failWith: 401 });
    const ts = await mention('<@UBOT> how do I add the bot to Slack?', [gone, refused]);
    await waitFor(() => answered(ts), 'the answer');
    const note = notes(ts)[0] ?? '';
    expect(note).toContain("couldn't download “gone.txt” (the file is gone (HTTP 404))");
    expect(note).toContain("couldn't download “secret.txt” (the file server refused access (HTTP 401))");
  });

  it('looks up a file Slack sent only as a stub (check_file_info) with files.info', async () => {
    const file = slack.addFile({
      name: 'shared.csv',
      content: BUDGET_CSV,
      mimetype: 'text/csv',
      filetype: 'csv',
    });
    const stub = { id: file.id, file_access: 'check_file_info' } as unknown as FakeSlackFile;
    const ts = await mention('<@UBOT> who owns the Lisbon offsite venue?', [stub]);
    await waitFor(() => answered(ts), 'the answer');
    expect(slack.callsTo('files.info').at(-1)?.args.file).toBe(file.id);
    expect(promptContext(groq.chatRequests().at(-1)?.body.messages)).toContain(
      'source="shared.csv (attached)"',
    );
  });

  it('echoes a hostile file name inert', async () => {
    const file = slack.addFile({
      name: '<!channel> *ping*.exe',
      content: 'MZ',
      mimetype: 'application/octet-stream',
    });
    const ts = await mention('<@UBOT> how do I add the bot to Slack?', [file]);
    await waitFor(() => answered(ts), 'the answer');
    const note = notes(ts)[0] ?? '';
    expect(note).toContain('&lt;!channel&gt;');
    expect(note).not.toContain('<!channel>');
  });
});
