/**
 * `npm start` installing in any workspace: the real process serves the install flow on PORT,
 * keeps the installation in RAG_DATA_DIR/app.db, and on a restart with the wrong
 * SLACK_INSTALLATION_KEY exits 1 with a clear message and no token in its output.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSlack, startFakeSlack } from '../fakes/slack/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { freePort } from '../support/net.js';
import { waitFor } from '../support/wait.js';
import { ROOT, runCli, tempDataDir } from './cli.js';

const CLIENT_ID = '1111111111.3333333333';
const WORKSPACE = { teamId: 'T0GAMMA', teamName: 'Gamma', botUserId: 'UBOTGAMMA', botId: 'BBOTGAMMA' };

let backends: Backends;
let slack: FakeSlack;

beforeAll(async () => {
  [backends, slack] = await Promise.all([
    startBackends(),
    startFakeSlack({
      oauth: { clientId: CLIENT_ID, clientSecret: 'start-client-secret', workspaces: [WORKSPACE] },
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([backends.close(), slack.close()]);
});

const oauthEnv = (dataDir: string, port: number, key: string) => ({
  ...backends.env,
  SLACK_CLIENT_ID: CLIENT_ID,
  SLACK_CLIENT_SECRET: 'start-client-secret',
  SLACK_STATE_SECRET: 'start-state-secret-0123456789',
  SLACK_INSTALLATION_KEY: key,
  SLACK_SIGNING_SECRET: 'start-signing-secret',
  SLACK_API_URL: slack.apiURL,
  RAG_DATA_DIR: dataDir,
  PORT: String(port),
});

function startBot(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, RAG_DOTENV: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return { child, output: () => output };
}

describe('npm start, installing in any workspace', () => {
  it('installs a workspace through the running bot, and refuses the wrong key on restart', async () => {
    const dataDir = await tempDataDir();
    const port = await freePort();
    const key = Buffer.alloc(32, 11).toString('base64');
    const bot = startBot(oauthEnv(dataDir, port, key));
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitFor(
        async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200,
        'the bot to be ready',
        60_000,
      );
      slack.oauth!.redirectUrl = `${base}/slack/oauth_redirect`;
      const start = await fetch(`${base}/slack/install`, { redirect: 'manual' });
      expect(start.status).toBe(302);
      const cookie = /slack-app-oauth-state=[^;]+/.exec(start.headers.get('set-cookie') ?? '')![0];
      const approved = await fetch(start.headers.get('location')!, { redirect: 'manual' });
      const done = await fetch(approved.headers.get('location')!, {
        headers: { cookie },
        redirect: 'manual',
      });
      expect(done.status).toBe(200);
    } finally {
      bot.child.kill('SIGTERM');
      await once(bot.child, 'exit');
    }
    const token = slack.oauth!.tokenOf(WORKSPACE.teamId)!;
    expect(bot.output()).toContain('Slack connected for any workspace');
    expect(bot.output()).not.toContain(token);

    const restarted = await runCli('src/main.ts', [], {
      env: oauthEnv(dataDir, await freePort(), Buffer.alloc(32, 12).toString('base64')),
    });
    expect(restarted.code).toBe(1);
    expect(restarted.stderr).toContain('SLACK_INSTALLATION_KEY cannot open 1 of 1 stored Slack installation');
    expect(restarted.stderr).not.toContain(token);
  });

  it('refuses to start OAuth mode without SLACK_INSTALLATION_KEY (exit 2)', async () => {
    const env: Record<string, string> = oauthEnv(await tempDataDir(), await freePort(), '');
    const result = await runCli('src/main.ts', [], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('SLACK_INSTALLATION_KEY is required');
  });
});
