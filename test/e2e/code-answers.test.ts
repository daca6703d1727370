/**
 * Offline answers to how-to questions, end to end in every front end: the lead-in sentence and
 * the whole code block arrive as one fenced block (Slack's stream, Discord's message, the web
 * chat's stream, the terminal), and steps arrive as an ordered list, in order. The real core over
 * the embedded store, no model.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRuntime, type Runtime } from '../../src/app/runtime.js';
import { PLAIN, terminalConversation } from '../../src/cli/terminal-conversation.js';
import { parseConfig } from '../../src/config.js';
import { answerInConversation } from '../../src/conversation/answer.js';
import { startHttpServer } from '../../src/http/server.js';
import { silentLogger } from '../../src/log.js';
import { createDiscordAdapter } from '../../src/platforms/discord/index.js';
import { createSlackAdapter, type SlackAdapter } from '../../src/platforms/slack/index.js';
import type { PlatformAdapter } from '../../src/platforms/types.js';
import { discordNeutralizer } from '../../src/render/discord-text.js';
import { slackNeutralizer } from '../../src/render/slack-text.js';
import { createWebChat } from '../../src/web/index.js';
import { type FakeDiscord, startFakeDiscord } from '../fakes/discord/index.js';
import { eventEnvelope, type FakeSlack, sendToBolt, startFakeSlack } from '../fakes/slack/index.js';
import { layerOver } from '../support/conversations.js';
import { captureLogs } from '../support/logs.js';
import { waitFor } from '../support/wait.js';

const CODE = [
  '```sh',
  'docker build -t knowledge-bot .',
  'docker run --env-file .env -p 3000:3000 knowledge-bot && echo "<started>"',
  '```',
].join('\n');
const LEAD = 'Build the image and start a container from it:';
const STEPS = [
  '1. Open the portal and choose **New Application**.',
  '2. Copy the token into `DISCORD_TOKEN`.',
  '3. Run `npm run commands:deploy`.',
];
const DOCUMENT = [
  '# Operations handbook',
  '',
  '## Containers',
  '',
  'The image contains only production dependencies and reports its health on `/healthz`.',
  '',
  LEAD,
  '',
  CODE,
  '',
  '## Registering on Discord',
  '',
  'To register the Discord application:',
  '',
  ...STEPS,
  '',
].join('\n');

const SECRET = 'slack-signing-secret-code-answers';
let dir: string;
let runtime: Runtime;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rag-code-answers-'));
  await mkdir(join(dir, 'knowledge'));
  await writeFile(join(dir, 'knowledge', 'operations.md'), DOCUMENT);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function offlineRuntime(env: Record<string, string>): Promise<Runtime> {
  const config = parseConfig({
    ...env,
    RAG_DATA_DIR: join(dir, `data-${Math.random().toString(36).slice(2)}`),
    RAG_KNOWLEDGE_DIR: join(dir, 'knowledge'),
  });
  return buildRuntime(config, { logger: captureLogs().logger });
}

/** The fenced block, whole, with the sentence introducing it right before it. */
function expectQuotedCode(text: string): void {
  expect(text).toContain(`${LEAD} [1]\n\n${CODE}`);
}

describe('a how-to question answered offline shows the code whole, as a fenced block', () => {
  it('in the terminal', async () => {
    runtime = await offlineRuntime({});
    let out = '';
    const conversation = terminalConversation(
      { write: (text) => (out += text), error: () => undefined },
      PLAIN,
      [],
    );
    await answerInConversation(conversation, 'How do I build and run the Docker image?', {
      answerer: runtime.answerer,
      log: silentLogger,
    });
    // Rendered without colour: the code lines themselves, in order and unbroken.
    const lines = CODE.split('\n').slice(1, -1);
    const at = lines.map((line) => out.indexOf(line));
    expect(at.every((index) => index > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(out.indexOf(LEAD)).toBeLessThan(at[0]!);
    // Source [1] is the handbook, its Containers section first (the prompt may also hold the
    // handbook's other section that shares a word with the question).
    expect(out).toMatch(/\[1\] Operations handbook( › | \()Containers/);
    // Without a model to judge it, the section that only shares "run" is not quoted.
    expect(out).not.toContain('Open the portal');
  });

  it('in the web chat stream', async () => {
    const chat = createWebChat({ conversations: layerOver(runtime.answerer), logger: silentLogger });
    const server: Server = await startHttpServer(0, chat.routes);
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/api/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: `http://127.0.0.1:${port}` },
        body: JSON.stringify({ question: 'How do I build and run the Docker image?' }),
      });
      const events = (await response.text())
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { type: string; text?: string });
      const streamed = events.flatMap((event) => (event.type === 'delta' ? [event.text ?? ''] : [])).join('');
      expectQuotedCode(streamed);
      expect(events.at(-1)).toMatchObject({ type: 'done', text: streamed });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  describe('in Slack, streamed', () => {
    let slack: FakeSlack;
    let adapter: SlackAdapter;
    beforeAll(async () => {
      slack = await startFakeSlack();
      const config = parseConfig({
        SLACK_BOT_TOKEN: slack.token,
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: slack.apiURL,
        RAG_DATA_DIR: join(dir, 'slack-data'),
        RAG_KNOWLEDGE_DIR: join(dir, 'knowledge'),
      });
      const { logger } = captureLogs();
      const slackRuntime = await buildRuntime(config, { logger });
      adapter = createSlackAdapter({
        config: config.slack!,
        port: 0,
        conversations: layerOver(slackRuntime.answerer, { logger }),
        logger,
        pacing: { editIntervalMs: 0, appendIntervalMs: 0 },
      });
      await adapter.start();
    });
    afterAll(async () => {
      await adapter?.stop();
      await slack?.close();
    });

    it('keeps the fence and the steps intact across the appended pieces', async () => {
      for (const [question, check] of [
        ['How do I build and run the Docker image?', expectQuotedCode],
        [
          'How do I register the Discord application?',
          (text: string) =>
            expect(text).toContain(`To register the Discord application: [1]\n\n${STEPS.join('\n')}`),
        ],
      ] as const) {
        const ts = slack.addUserMessage('C0CODE', 'U1', `<@${slack.botUserId}> ${question}`);
        await sendToBolt(
          `http://127.0.0.1:${adapter.port}/slack/events`,
          eventEnvelope(
            {
              type: 'app_mention',
              user: 'U1',
              text: `<@${slack.botUserId}> ${question}`,
              ts,
              channel: 'C0CODE',
            },
            slack.teamId,
          ),
          'application/json',
          { secret: SECRET },
        );
        const stop = await waitFor(
          () =>
            slack
              .callsTo('chat.stopStream')
              .find((c) => slack.messages('C0CODE').some((m) => m.ts === c.args.ts && m.thread_ts === ts)),
          'the end of the stream',
        );
        const pieces = slack.calls
          .filter(
            (c) =>
              /chat\.(startStream|appendStream|stopStream)/.test(c.method) &&
              (c.args.ts === stop.args.ts || (c.method === 'chat.startStream' && c.args.thread_ts === ts)),
          )
          .map((c) => String(c.args.markdown_text ?? ''));
        // Slack's escaping (`<` as `&lt;`) is undone by Slack when it renders; undone here too.
        check(slackNeutralizer.restore(pieces.join('')));
      }
    });
  });

  describe('in Discord', () => {
    let discord: FakeDiscord;
    let adapter: PlatformAdapter;
    beforeAll(async () => {
      discord = await startFakeDiscord();
      const config = parseConfig({
        DISCORD_TOKEN: discord.token,
        DISCORD_APPLICATION_ID: discord.applicationId,
        DISCORD_API_URL: discord.apiURL,
        RAG_DATA_DIR: join(dir, 'discord-data'),
        RAG_KNOWLEDGE_DIR: join(dir, 'knowledge'),
      });
      const captured = captureLogs();
      const discordRuntime = await buildRuntime(config, { logger: captured.logger });
      adapter = createDiscordAdapter({
        config: config.discord!,
        conversations: layerOver(discordRuntime.answerer, { logger: captured.logger }),
        logger: captured.logger,
        editIntervalMs: 0,
      });
      await adapter.start();
    });
    afterAll(async () => {
      await adapter?.stop();
      await discord?.close();
    });

    it('posts the fence whole in the answer', async () => {
      const { token } = discord.slashAsk({ question: 'How do I build and run the Docker image?' });
      const done = await waitFor(
        () =>
          discord
            .callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/`))
            .find((c) => JSON.stringify(c.body ?? {}).includes('feedback:up')),
        'the final answer',
      );
      expectQuotedCode(discordNeutralizer.restore(String(done.body?.content)));
    });
  });
});
