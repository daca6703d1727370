/**
 * Issue 17's parsing attacks, performed against the real processes: the bot (`src/main.ts`,
 * Slack and Discord at once) given hostile attachments, and `npm run ingest` given a hostile
 * site and hostile files, from source and compiled. Responsiveness is shown by the order of
 * events, never by durations: `/healthz` answers several times between the moment the bot
 * fetched a hostile file and the moment it says what became of it (a blocked event loop
 * answers nothing in between), and the rest of the answer goes on.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStore } from '../../src/stores/local/index.js';
import { type FakeDiscord, startFakeDiscord } from '../fakes/discord/index.js';
import { type FakeDocsSite, startFakeDocsSite } from '../fakes/docs-site/index.js';
import { answering, type FakeGroq } from '../fakes/groq/index.js';
import { eventEnvelope, type FakeSlack, sendToBolt, startFakeSlack } from '../fakes/slack/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { BUDGET_CSV, promptContext } from '../support/files.js';
import {
  BOMB_DRESSINGS,
  backtrackingHtml,
  commentBombPage,
  deflateBombPdf,
  dressedBombPdf,
  paddedHeadingsMarkdown,
  unclosedLocSitemap,
} from '../support/hostile-docs.js';
import { freePort } from '../support/net.js';
import { waitFor } from '../support/wait.js';
import { ROOT, runCli, tempDataDir } from './cli.js';

const SECRET = 'hostile-docs-signing-secret';
const CHANNEL = 'C0HOSTILE';
/** /healthz answers asked for, one after another, while a hostile document is being read. */
const HEALTH_CHECKS = 3;

/**
 * Asks /healthz `HEALTH_CHECKS` times in a row and counts the answers that arrived while
 * `pending()` still held (the hostile document's outcome not yet said).
 */
async function healthChecksWhile(base: string, pending: () => boolean): Promise<number> {
  let during = 0;
  for (let i = 0; i < HEALTH_CHECKS; i++) {
    const response = await fetch(`${base}/healthz`);
    if (response.ok && pending()) during += 1;
  }
  return during;
}

describe('the bot, given hostile attachments', () => {
  let backends: Backends;
  let groq: FakeGroq;
  let slack: FakeSlack;
  let discord: FakeDiscord;
  let bot: ChildProcess;
  let base: string;
  let output = '';
  let bomb: Buffer;

  beforeAll(async () => {
    [backends, slack, discord, bomb] = await Promise.all([
      startBackends(),
      startFakeSlack(),
      startFakeDiscord(),
      deflateBombPdf(),
    ]);
    ({ groq } = backends);
    groq.setReply(
      answering((request) =>
        promptContext(request.body.messages).includes('Lisbon offsite venue')
          ? 'The venue costs 18,400 EUR [1].'
          : 'Here is what the passages say [1].',
      ),
    );
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    bot = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        RAG_DOTENV: 'off',
        ...backends.env,
        SLACK_BOT_TOKEN: slack.token,
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: slack.apiURL,
        DISCORD_TOKEN: discord.token,
        DISCORD_APPLICATION_ID: discord.applicationId,
        DISCORD_API_URL: discord.apiURL,
        RAG_DATA_DIR: await tempDataDir(),
        RAG_MIN_SCORE: '0.7',
        PORT: String(port),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    bot.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    bot.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await waitFor(
      async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok,
      'the bot to be ready',
      60_000,
    );
  }, 90_000);

  afterAll(async () => {
    if (bot && bot.exitCode === null) bot.kill('SIGKILL');
    await Promise.all([backends?.close(), slack?.close(), discord?.close()]);
  });

  it('Slack: keeps answering /healthz while it reads a 512 KB hostile HTML file and a PDF deflate bomb, notes both, answers from the CSV beside them, and reads none of them again on a follow-up but the bomb', async () => {
    const html = slack.addFile({ name: 'page.html', content: backtrackingHtml(), mimetype: 'text/html' });
    const pdf = slack.addFile({ name: 'bomb.pdf', content: bomb, mimetype: 'application/pdf' });
    const csv = slack.addFile({ name: 'q3-budget.csv', content: BUDGET_CSV, mimetype: 'text/csv' });
    const text = '<@UBOT> how much does the Lisbon offsite venue cost?';
    const ts = slack.addUserMessage(CHANNEL, 'U1', text, undefined, [html, pdf, csv]);
    const notes = () =>
      slack
        .callsTo('chat.postMessage')
        .filter((c) => c.args.channel === CHANNEL && c.args.thread_ts === ts)
        .map((c) => String(c.args.text))
        .filter((t) => t.startsWith(':warning:'));
    // The only answers in this channel: the calls that end them carry the feedback buttons.
    const answers = () =>
      slack.calls.filter((c) => c.args.channel === CHANNEL && JSON.stringify(c.args).includes('feedback_up'))
        .length;
    const mention = (question: string, threadTs?: string) =>
      sendToBolt(
        `${base}/slack/events`,
        eventEnvelope(
          {
            type: 'app_mention',
            user: 'U1',
            text: question,
            ts: threadTs ? slack.addUserMessage(CHANNEL, 'U1', question, threadTs) : ts,
            channel: CHANNEL,
            ...(threadTs ? { thread_ts: threadTs } : { files: [html, pdf, csv] }),
          },
          slack.teamId,
        ),
        'application/json',
        { secret: SECRET },
      );

    await mention(text);
    await waitFor(() => slack.downloads.some((d) => d.fileId === html.id), 'the HTML file downloaded');
    expect(await healthChecksWhile(base, () => notes().length === 0)).toBe(HEALTH_CHECKS);

    await waitFor(() => answers() > 0 || undefined, 'the answer', 60_000);
    const [note, ...more] = notes();
    expect(more).toEqual([]);
    // Worded for what it is: a page of markup, not a scanned PDF.
    expect(note).toContain(
      '“page.html” has no text I can read (the page has only markup, scripts or styles)',
    );
    expect(note).toContain('“bomb.pdf”: it is too large or complex to read');
    const context = promptContext(groq.chatRequests().at(-1)?.body.messages);
    expect(context).toContain('Lisbon offsite venue,Marta,18400');
    expect(context).not.toContain('bomb.pdf');

    // A follow-up in the thread reads the thread's files from what the first question made of
    // them; only the bomb, stopped at a budget (which can be the moment's), is tried again.
    const downloads = slack.downloads.length;
    await mention('<@UBOT> and who owns it?', ts);
    await waitFor(() => answers() > 1 || undefined, 'the follow-up answer', 60_000);
    expect(slack.downloads.slice(downloads).map((d) => d.fileId)).toEqual([pdf.id]);
    expect(promptContext(groq.chatRequests().at(-1)?.body.messages)).toContain('Lisbon offsite venue');
    expect(notes()).toHaveLength(1);
    expect(output).not.toContain('Lisbon offsite venue');
  }, 120_000);

  it('Discord: keeps answering /healthz while it reads the same attachments, notes the hostile ones, answers, and reads none of them again on a follow-up but the bomb', async () => {
    const asked = discord.userMessage({
      content: `<@${discord.botUserId}> how much does the Lisbon offsite venue cost?`,
      attachments: [
        { filename: 'page.html', content: backtrackingHtml(), contentType: 'text/html' },
        { filename: 'bomb.pdf', content: bomb, contentType: 'application/pdf' },
        { filename: 'q3-budget.csv', content: BUDGET_CSV, contentType: 'text/csv' },
      ],
    });
    const thread = await waitFor(
      () => discord.threadsOf(discord.channelId).find((t) => t.id === asked.id),
      'the thread',
      60_000,
    );
    const bot = () => discord.messages(thread.id).filter((m) => m.author.bot);
    const notes = () => bot().filter((m) => m.content.startsWith('⚠️'));
    const answers = () => bot().filter((m) => m.components.length > 0).length;

    await waitFor(() => discord.cdnRequests.some((path) => path.endsWith('page.html')), 'the HTML fetched');
    expect(await healthChecksWhile(base, () => notes().length === 0)).toBe(HEALTH_CHECKS);

    await waitFor(() => answers() > 0 || undefined, 'the answer', 60_000);
    expect(notes()).toHaveLength(1);
    expect(notes()[0]?.content).toContain('“bomb.pdf”: it is too large or complex to read');
    expect(promptContext(groq.chatRequests().at(-1)?.body.messages)).toContain('Lisbon offsite venue');

    const fetched = discord.cdnRequests.length;
    discord.userMessage({ channelId: thread.id, content: 'and who owns it?' });
    await waitFor(() => answers() > 1 || undefined, 'the follow-up answer', 60_000);
    expect(discord.cdnRequests.slice(fetched).map((path) => path.split('/').at(-1))).toEqual(['bomb.pdf']);
    expect(notes()).toHaveLength(1);
    expect(promptContext(groq.chatRequests().at(-1)?.body.messages)).toContain('Lisbon offsite venue');
  }, 120_000);

  it('Slack: reads decompression bombs dressed to look like anything but one, in parser processes: the bot’s own memory does not grow with them, each is noted with the budget that stopped it, and the CSV beside them is answered', async () => {
    const bombs = BOMB_DRESSINGS.map((dressing, i) =>
      slack.addFile({
        name: `report-${i}.pdf`,
        // Run-length expands 64 times only: 300 MB keeps the file under the 5 MB attachment limit.
        content: dressedBombPdf(dressing, dressing.filter === 'run-length' ? 300 : 512),
        mimetype: 'application/pdf',
      }),
    );
    const csv = slack.addFile({ name: 'q3-budget.csv', content: BUDGET_CSV, mimetype: 'text/csv' });
    const before = residentMB(bot.pid);
    const text = '<@UBOT> what do these reports say about the Lisbon offsite venue?';
    const ts = slack.addUserMessage(CHANNEL, 'U2', text, undefined, [...bombs, csv]);
    let largest = before;
    const sampling = setInterval(() => {
      largest = Math.max(largest, residentMB(bot.pid));
    }, 50);
    await sendToBolt(
      `${base}/slack/events`,
      eventEnvelope(
        { type: 'app_mention', user: 'U2', text, ts, channel: CHANNEL, files: [...bombs, csv] },
        slack.teamId,
      ),
      'application/json',
      { secret: SECRET },
    );
    const note = await waitFor(
      () =>
        slack
          .callsTo('chat.postMessage')
          .map((c) => (c.args.thread_ts === ts ? String(c.args.text) : ''))
          .find((t) => t.startsWith(':warning:')),
      'the note on the bombs',
      90_000,
    );
    clearInterval(sampling);
    for (const i of [0, 1, 2]) {
      expect(note).toContain(
        `“report-${i}.pdf”: it is too large or complex to read (reading it needs more than the 256 MB of memory I allow for one file)`,
      );
    }
    // Each bomb inflates to hundreds of MB: the bot process itself held none of it.
    expect(largest - before).toBeLessThan(64);
    await waitFor(
      () =>
        promptContext(groq.chatRequests().at(-1)?.body.messages).includes('Lisbon offsite venue') ||
        undefined,
      'the answer from the CSV',
      60_000,
    );
  }, 150_000);
});

/** The resident memory of a process, in MB (0 once it has ended). */
function residentMB(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const at = status.indexOf('VmRSS:');
    return at === -1 ? 0 : Number.parseInt(status.slice(at + 6).trim(), 10) / 1024;
  } catch {
    return 0;
  }
}

describe('npm run ingest, given hostile documents', () => {
  let site: FakeDocsSite;
  let data: string;
  let folder: string;

  beforeAll(async () => {
    site = await startFakeDocsSite();
    data = await tempDataDir();
    folder = await mkdtemp(join(ROOT, '.test-hostile-'));
  });
  afterAll(async () => {
    await site.close();
    await rm(data, { recursive: true, force: true });
    await rm(folder, { recursive: true, force: true });
  });

  it('crawls a site whose sitemap is unclosed <loc> tags and one of whose pages is <!-- repeated, landing every other page', async () => {
    site.serveRaw('/sitemap.xml', 'application/xml', unclosedLocSitemap());
    site.setPage('/docs/comments.html', 'Comments', 'placeholder');
    site.serveRaw('/docs/comments.html', 'text/html', commentBombPage());
    const result = await runCli('src/cli/ingest.ts', [`${site.url}/docs/`, '--collection', 'acme'], {
      env: { RAG_DATA_DIR: data, CRAWL_DELAY_MS: '0' },
      timeoutMs: 90_000,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Crawled ${site.url}/docs/ into collection acme`);
    expect(site.fetched()).toContain('/docs/comments.html');
    const store = await LocalStore.open({ dir: data });
    try {
      const [hit] = await store.search('install the widget with frobnicator', {
        topK: 1,
        collections: ['acme'],
      });
      expect(hit?.url).toBe(`${site.url}/docs/install.html`);
    } finally {
      store.close();
    }
  }, 120_000);

  it('lists a PDF deflate bomb (and a Markdown file built to make patterns backtrack, if it is too complex) as failed, and ingests the rest', async () => {
    await writeFile(join(folder, 'bomb.pdf'), await deflateBombPdf());
    await writeFile(join(folder, 'padded.md'), paddedHeadingsMarkdown());
    await writeFile(
      join(folder, 'runbook.md'),
      '# Runbook\n\nRestart the quasar relay with `relay restart`.\n',
    );
    const result = await runCli('src/cli/ingest.ts', [folder], {
      env: { RAG_DATA_DIR: data, PARSE_TIME_LIMIT_MS: '5000' },
      timeoutMs: 90_000,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /bomb\.pdf.*too large or complex: reading it needed more than 256 MB of memory \(PARSE_MEMORY_MB\)/,
    );
    // The chunker is linear (then the file lands) or the file is reported: never a stalled run.
    const padded = result.stdout.split('\n').find((line) => line.includes('padded.md'));
    if (padded) expect(padded).toContain('too large or complex');
    const store = await LocalStore.open({ dir: data });
    try {
      const [hit] = await store.search('restart the quasar relay', { topK: 1 });
      expect(hit?.source).toContain('runbook.md');
    } finally {
      store.close();
    }
  }, 120_000);

  it('works the same compiled, with no tsx: `node dist/src/cli/ingest.js` parses in its parser processes', async () => {
    const out = join(folder, 'dist');
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out],
      {
        cwd: ROOT,
        stdio: 'ignore',
      },
    );
    const docs = join(folder, 'compiled-docs');
    await mkdir(docs, { recursive: true });
    await writeFile(join(docs, 'bomb.pdf'), await deflateBombPdf());
    await writeFile(
      join(docs, 'page.html'),
      '<html><head><title>Zephyr</title></head><body><nav>menu</nav><main><p>The zephyr valve opens at dawn.</p></main></body></html>',
    );
    const dataDir = await tempDataDir();
    const run = spawn(process.execPath, [join(out, 'src/cli/ingest.js'), docs], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, RAG_DOTENV: 'off', RAG_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    run.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => run.on('exit', resolve));
    expect(code).toBe(1);
    expect(stdout).toMatch(/bomb\.pdf.*needed more than 256 MB of memory/);
    const store = await LocalStore.open({ dir: dataDir });
    try {
      const [hit] = await store.search('when does the zephyr valve open', { topK: 1 });
      expect(hit?.title).toBe('Zephyr');
    } finally {
      store.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
