/**
 * The web chat in a real browser (Debian's Chromium, driven by playwright-core): ask and
 * watch the answer stream with linked sources, follow up, vote, stop, see a failure, stay
 * safe against HTML in the model's answer, and the widget on pages of other origins.
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`); skipped with a message without it.
 * UPDATE_SCREENSHOT=1 rewrites docs/web-chat.png and docs/web-widget.png.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Browser, chromium, type Frame, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { failures } from '../../src/core/failures.js';
import { startHttpServer } from '../../src/http/server.js';
import type { ReplyFn } from '../fakes/groq/index.js';
import { defaultReply } from '../fakes/groq/index.js';
import { waitFor } from '../support/wait.js';
import { ROOT } from './cli.js';
import { feedbackLogs, startWebFixture, type WebFixture } from './web-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`Skipping the web chat browser tests: ${CHROMIUM} is missing (apt-get install -y chromium).`);
}

const isCondense: (request: Parameters<ReplyFn>[0]) => boolean = (request) =>
  /standalone question/i.test(request.body.messages?.[0]?.content ?? '');

/** Answers in markdown, citing the first passage, as a real model would. */
const markdownReply: ReplyFn = (request) =>
  isCondense(request)
    ? defaultReply(request)
    : 'You get **25 vacation days** per year [1]:\n\n- unused days carry over until the end of March\n- book them in the HR portal two weeks ahead\n\nSee the [vacation policy](https://docs.example.com/hr/vacation) for details.';

interface HostPage {
  readonly url: string;
  readonly server: Server;
  /** Points the page's widget script at the chat. */
  embed(chatURL: string): void;
}

/** A site on another origin (another loopback port) whose page embeds the chat with the widget script. */
async function startHostPage(): Promise<HostPage> {
  let chatURL = '';
  const server = await startHttpServer(0, [
    {
      path: '/',
      method: 'GET',
      handler: (_req, res) => {
        res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
          .end(`<!doctype html><html><head><title>Team docs</title></head><body><h1>Team docs</h1>
<p>Questions? Use the button in the corner.</p>
<script src="${chatURL}/widget.js" data-label="Ask the docs" async></script></body></html>`);
      },
    },
  ]);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    embed: (url) => {
      chatURL = url;
    },
  };
}

/** Opens the widget on a host page and returns the chat's frame once it has navigated. */
async function openWidget(page: Page, hostURL: string): Promise<Frame> {
  await page.goto(hostURL);
  await page.locator('#rag-chat-launcher').click();
  const handle = await page.waitForSelector('#rag-chat-frame');
  const frame = await handle.contentFrame();
  if (!frame) throw new Error('the widget has no frame');
  await frame.waitForLoadState('load');
  return frame;
}

async function ask(page: Page | Frame, question: string): Promise<void> {
  await page.locator('#question').fill(question);
  await page.locator('#send').click();
}

/** Polls until the expectation holds; generous, because the browser shares two cores with other work. */
const eventually = <T>(check: () => Promise<T> | T) => expect.poll(check, { timeout: 15_000 });

/** The nth bot answer on the page (0-based). */
const answer = (page: Page | Frame, n: number) => page.locator('article.bot').nth(n);

describe.skipIf(!haveChromium)('web chat in Chromium', { timeout: 60_000 }, () => {
  let browser: Browser;
  let fixture: WebFixture;
  let page: Page;
  /** Every URL the page requested, to prove nothing left its origin. */
  let requested: string[];
  let allowedSite: HostPage;
  let otherSite: HostPage;

  beforeAll(async () => {
    [allowedSite, otherSite] = await Promise.all([startHostPage(), startHostPage()]);
    fixture = await startWebFixture({ chat: { allowedOrigins: [allowedSite.url] } });
    allowedSite.embed(fixture.url);
    otherSite.embed(fixture.url);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await fixture?.close();
    for (const site of [allowedSite, otherSite]) {
      site?.server.closeAllConnections();
      await new Promise((resolve) => site?.server.close(resolve));
    }
  });

  beforeEach(async () => {
    fixture.groq.setReply(markdownReply);
    fixture.groq.clearFaults();
    page = await browser.newPage({ viewport: { width: 900, height: 700 } });
    requested = [];
    page.on('request', (request) => requested.push(request.url()));
    await page.goto(`${fixture.url}/`);
  });

  afterEach(async () => {
    await page?.close();
  });

  it('streams the answer as it is written, then shows markdown, linked sources and votes', async () => {
    const release = fixture.answerer.holdAfterFirstDelta();
    await ask(page, 'How many vacation days do I get?');
    const first = answer(page, 0);
    // Mid-answer: some text is on the page while the answer is still being written.
    await eventually(() => first.locator('.answer').textContent()).toMatch(/\S/);
    expect(await first.getAttribute('data-state')).toBe('streaming');
    expect(await first.locator('.feedback').count()).toBe(0);
    await eventually(() => page.locator('#stop').isVisible()).toBe(true);
    release();

    await eventually(() => first.getAttribute('data-state')).toBe('done');
    expect(await first.locator('.answer strong').textContent()).toBe('25 vacation days');
    expect(await first.locator('.answer li').count()).toBe(2);
    const source = first.locator('.sources li').first();
    expect(await source.getAttribute('value')).toBe('1');
    const link = source.locator('a');
    expect(await link.getAttribute('href')).toBe('https://docs.example.com/hr/vacation');
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    expect(await first.locator('button.vote').count()).toBe(2);
    expect(requested.every((url) => url.startsWith(fixture.url))).toBe(true);

    if (process.env.UPDATE_SCREENSHOT) {
      await mkdir(join(ROOT, 'docs'), { recursive: true });
      await page.screenshot({ path: join(ROOT, 'docs/web-chat.png') });
    }
  });

  it('sends the conversation with a follow-up, so the core answers it in context', async () => {
    await ask(page, 'How many vacation days do I get?');
    await eventually(() => answer(page, 0).getAttribute('data-state')).toBe('done');
    const firstAnswer = fixture.answerer.calls.at(-1)!.last;
    expect(firstAnswer?.type).toBe('done');

    await ask(page, 'Do unused ones carry over?');
    await eventually(() => answer(page, 1).getAttribute('data-state')).toBe('done');
    const followUp = fixture.answerer.calls.at(-1)!;
    expect(followUp.question.text).toBe('Do unused ones carry over?');
    expect(followUp.history).toEqual([
      { role: 'user', text: 'How many vacation days do I get?' },
      { role: 'assistant', text: firstAnswer?.type === 'done' ? firstAnswer.text : '' },
    ]);
  });

  it('records a 👍 in the log like the platforms do, and thanks the user', async () => {
    await ask(page, 'How many vacation days do I get?');
    const first = answer(page, 0);
    await eventually(() => first.getAttribute('data-state')).toBe('done');
    const questionId = await first.getAttribute('data-question-id');
    await first.locator('button[data-vote="up"]').click();
    await eventually(() => first.locator('.feedback').textContent()).toBe('Thanks, glad it helped!');
    expect(feedbackLogs(fixture.logLines)).toContainEqual(
      expect.objectContaining({ event: 'feedback', questionId, vote: 'up' }),
    );
  });

  it('Stop interrupts the answer, in the page and in the core, keeping the text so far and its sources', async () => {
    const release = fixture.answerer.holdAfterFirstDelta();
    const before = fixture.answerer.calls.length;
    await ask(page, 'How many vacation days do I get?');
    const first = answer(page, 0);
    await eventually(() => first.getAttribute('data-state')).toBe('streaming');
    await eventually(() => first.locator('.answer').textContent()).not.toBe('');
    await page.locator('#stop').click();
    await eventually(() => first.getAttribute('data-state')).toBe('stopped');
    expect(await first.locator('.note').textContent()).toMatch(/Stopped/);
    // As the terminal does: what was written stays, with the sources it was written from.
    expect(await first.locator('.answer').textContent()).not.toBe('');
    expect(await first.locator('.sources').isVisible()).toBe(true);
    const source = first.locator('.sources li a').first();
    expect(await source.getAttribute('href')).toBe('https://docs.example.com/hr/vacation');
    const call = fixture.answerer.calls[before]!;
    await waitFor(() => call.question.signal?.aborted, 'the question’s signal to abort');
    release();
    await waitFor(() => call.last, 'the core to end the answer');
    expect(call.last).toMatchObject({ type: 'failure', failure: { kind: 'interrupted' } });
    expect(await page.locator('#send').isVisible()).toBe(true);
  });

  it('shows the core’s friendly message when the model rejects the bot’s key', async () => {
    fixture.groq.failNext({ type: 'status', status: 401 });
    await ask(page, 'How many vacation days do I get?');
    const first = answer(page, 0);
    await eventually(() => first.getAttribute('data-state')).toBe('failed');
    const message = await first.locator('.failure').textContent();
    expect(message).toBe(failures.misconfigured('Groq', 'GROQ_API_KEY').message);
    expect(await first.locator('.failure').getAttribute('role')).toBe('alert');
  });

  it('never runs HTML or javascript: links from the model’s answer', async () => {
    fixture.groq.setReply((request) =>
      isCondense(request)
        ? defaultReply(request)
        : 'Careful <img src=x onerror="window.pwned=1"> and <script>window.pwned=2</script> ' +
          '[click me](javascript:window.pwned=3) [data](data:text/html,hi) <a href="javascript:window.pwned=4">raw</a> ' +
          '![tracker](https://tracker.example/pixel.png) and [safe](https://docs.example.com/ok).',
    );
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await ask(page, 'How many vacation days do I get?');
    const first = answer(page, 0);
    await eventually(() => first.getAttribute('data-state')).toBe('done');
    const body = first.locator('.answer');
    expect(await body.locator('img, script, iframe, object').count()).toBe(0);
    const hrefs = await body.locator('a').evaluateAll((links) => links.map((a) => a.getAttribute('href')));
    // Only http(s) links survive; the image became a plain link and loads nothing.
    expect(hrefs).toEqual(['https://tracker.example/pixel.png', 'https://docs.example.com/ok']);
    // The markup is shown as the text it is.
    expect(await body.textContent()).toContain('<img src=x onerror="window.pwned=1">');
    await body.getByText('click me', { exact: false }).click();
    expect(await page.evaluate(() => (globalThis as { pwned?: unknown }).pwned)).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(requested.every((url) => url.startsWith(fixture.url))).toBe(true);
  });

  it('asks for the access token of a private deployment, then answers with it', async () => {
    const token = 'private-deployment-token-0123456789';
    const private_ = await startWebFixture({ chat: { token } });
    try {
      await page.goto(`${private_.url}/`);
      await ask(page, 'How many vacation days do I get?');
      await eventually(() => page.locator('#token-form').isVisible()).toBe(true);
      await page.locator('#token').fill('not-the-right-token-000000');
      await page.locator('#token-form button').click();
      await eventually(() => page.locator('#token-label').textContent()).toMatch(/not accepted/);
      await page.locator('#token').fill(token);
      await page.locator('#token-form button').click();
      await eventually(() => answer(page, 0).getAttribute('data-state')).toBe('done');
      expect(private_.answerer.calls).toHaveLength(1);
      expect(private_.logLines.join('')).not.toContain(token);
    } finally {
      await private_.close();
    }
  });

  it('opens from the widget on a page of an allowed origin and answers there', async () => {
    const frame = await openWidget(page, allowedSite.url);
    expect(frame.url()).toBe(`${fixture.url}/?embed=1`);
    await ask(frame, 'How many vacation days do I get?');
    const first = answer(frame, 0);
    await eventually(() => first.getAttribute('data-state')).toBe('done');
    expect(await first.locator('.sources a').first().getAttribute('href')).toBe(
      'https://docs.example.com/hr/vacation',
    );
    if (process.env.UPDATE_SCREENSHOT) await page.screenshot({ path: join(ROOT, 'docs/web-widget.png') });
    // The host page's own origin and the chat's, nothing else.
    expect(requested.every((url) => url.startsWith(fixture.url) || url.startsWith(allowedSite.url))).toBe(
      true,
    );
  });

  it('stays off a site that is not allowed, where the browser refuses the chat anyway', async () => {
    const warnings: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'warning') warnings.push(message.text());
    });
    await page.goto(otherSite.url);
    await eventually(() => warnings.some((text) => text.includes('WEB_CHAT_ORIGINS'))).toBe(true);
    expect(await page.locator('#rag-chat-launcher').count()).toBe(0);
    // Framing the chat by hand fails too: its frame-ancestors policy names only the allowed site.
    const src = JSON.stringify(`${fixture.url}/?embed=1`);
    await page.evaluate(
      `(() => { const f = document.createElement('iframe'); f.id = 'by-hand'; f.src = ${src}; document.body.append(f); })()`,
    );
    const frame = await (await page.waitForSelector('#by-hand')).contentFrame();
    await frame?.waitForLoadState('load');
    expect(frame?.url()).toMatch(/^chrome-error:/);
    expect(await frame?.locator('#question').count()).toBe(0);
  });
});
