/**
 * `npm start` that cannot start, as the real process: on a terminal, one readable sentence
 * with the remedy (the stack only at LOG_LEVEL=debug); for log collectors (JSON, the default
 * off a terminal), one fatal record whose message is that sentence. A terminal is a real
 * pseudo-terminal from util-linux's `script`.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSlack, startFakeSlack } from '../fakes/slack/index.js';
import { freePort } from '../support/net.js';
import { haveTerminal, runOnTerminal, SCRIPT } from '../support/terminal.js';
import { ROOT, tempDataDir } from './cli.js';

if (!haveTerminal) console.warn(`Skipping the terminal cases: ${SCRIPT} (util-linux) is missing.`);

interface Outcome {
  readonly code: number | null;
  /** stderr off a terminal; everything the terminal showed on one. */
  readonly output: string;
  readonly lines: string[];
}

const outcome = (code: number | null, output: string): Outcome => ({
  code,
  output,
  lines: output.split('\n').filter((line) => line.trim() !== ''),
});

/** Runs `npm start`'s entry with `env`, on a pseudo-terminal when `terminal` is set. */
async function start(env: Record<string, string>, terminal = false): Promise<Outcome> {
  const node = [process.execPath, '--import', 'tsx', join(ROOT, 'src/main.ts')];
  const fullEnv = { PATH: process.env.PATH, HOME: process.env.HOME, RAG_DOTENV: 'off', ...env };
  if (terminal) {
    const run = await runOnTerminal(node, { cwd: ROOT, env: fullEnv });
    return outcome(run.code, run.output);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(node[0]!, node.slice(1), {
      cwd: ROOT,
      env: fullEnv,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(outcome(code, output));
    });
  });
}

let slack: FakeSlack;
let unreachable: string;
let occupied: Server;
let occupiedPort: number;

beforeAll(async () => {
  slack = await startFakeSlack();
  // Port 2: nothing listens there, and unlike a free port picked now, no other test's server
  // can take it meanwhile (fetch does not block it, as it blocks 9).
  unreachable = 'http://127.0.0.1:2/api/';
  occupied = createServer();
  await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve));
  occupiedPort = (occupied.address() as { port: number }).port;
});
afterAll(async () => {
  await slack.close();
  await new Promise((resolve) => occupied.close(resolve));
});

const slackEnv = async (extra: Record<string, string> = {}) => ({
  SLACK_BOT_TOKEN: slack.token,
  SLACK_SIGNING_SECRET: 'startup-failure-secret',
  SLACK_API_URL: unreachable,
  RAG_DATA_DIR: await tempDataDir(),
  PORT: String(await freePort()),
  ...extra,
});

describe('a start-up failure for log collectors (JSON, off a terminal)', () => {
  it('is one fatal record whose message says what to do, without a stack, and nothing else', async () => {
    const result = await start(await slackEnv());
    expect(result.code).toBe(1);
    expect(result.lines).toHaveLength(1);
    const record = JSON.parse(result.lines[0]!) as {
      level: number;
      msg: string;
      err: Record<string, unknown>;
    };
    expect(record.level).toBe(60);
    expect(record.msg).toBe(
      `Cannot reach Slack at ${unreachable} (connect ECONNREFUSED ${new URL(unreachable).host}): check this machine's network and proxy, and SLACK_API_URL.`,
    );
    expect(record.err).toEqual({ type: 'StartupError' });
  });

  it('carries the stack at LOG_LEVEL=debug, and stays one record for a port already in use', async () => {
    const debug = await start(await slackEnv({ LOG_LEVEL: 'debug' }));
    const fatal = debug.lines.map((line) => JSON.parse(line) as { level: number; err?: { stack?: string } });
    expect(fatal.filter((record) => record.level === 60)).toHaveLength(1);
    expect(fatal.find((record) => record.level === 60)?.err?.stack).toContain('    at ');

    const busy = await start({
      WEB_CHAT: 'true',
      RAG_DATA_DIR: await tempDataDir(),
      PORT: String(occupiedPort),
      LOG_FORMAT: 'json',
    });
    expect(busy.code).toBe(1);
    expect(busy.lines).toHaveLength(1);
    expect(JSON.parse(busy.lines[0]!)).toMatchObject({
      level: 60,
      msg: `Port ${occupiedPort} is already in use by another program: stop that program, or set PORT to a free port.`,
      err: { code: 'EADDRINUSE' },
    });
  });

  it('says the sentence alone when LOG_FORMAT=pretty asks for readable logs', async () => {
    const result = await start(await slackEnv({ LOG_FORMAT: 'pretty' }));
    expect(result.lines).toEqual([
      expect.stringMatching(/^Cannot reach Slack at .*: check this machine's network/),
    ]);
  });
});

describe.skipIf(!haveTerminal)('a start-up failure on a terminal', () => {
  it('is one readable sentence with the remedy: Slack out of reach', async () => {
    const result = await start(await slackEnv(), true);
    expect(result.code).toBe(1);
    expect(result.lines).toEqual([
      `Cannot reach Slack at ${unreachable} (connect ECONNREFUSED ${new URL(unreachable).host}): check this machine's network and proxy, and SLACK_API_URL.`,
    ]);
  });

  it('is one readable sentence with the remedy: a bot token Slack refuses, never echoed', async () => {
    const result = await start(
      await slackEnv({ SLACK_API_URL: slack.apiURL, SLACK_BOT_TOKEN: 'xoxb-refused-by-the-fake-1234' }),
      true,
    );
    expect(result.lines).toEqual([
      'Slack rejected SLACK_BOT_TOKEN (invalid_auth): copy the Bot User OAuth Token from OAuth & Permissions.',
    ]);
  });

  it('is one readable sentence with the remedy: the port taken, by the web chat or by Slack’s receiver', async () => {
    const web = await start(
      { WEB_CHAT: 'true', RAG_DATA_DIR: await tempDataDir(), PORT: String(occupiedPort) },
      true,
    );
    const sentence = `Port ${occupiedPort} is already in use by another program: stop that program, or set PORT to a free port.`;
    expect(web.lines).toEqual([sentence]);
    const receiver = await start(
      await slackEnv({ SLACK_API_URL: slack.apiURL, PORT: String(occupiedPort) }),
      true,
    );
    expect(receiver.lines).toEqual([sentence]);
  });

  it('is one readable message with the remedy: a damaged data file', async () => {
    const dataDir = await tempDataDir();
    await writeFile(join(dataDir, 'app.db'), 'this is not a SQLite database, just some bytes');
    const result = await start(
      { WEB_CHAT: 'true', RAG_DATA_DIR: dataDir, PORT: String(await freePort()) },
      true,
    );
    expect(result.code).toBe(1);
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatch(
      new RegExp(
        `^The bot's database at ${join(dataDir, 'app.db')} is damaged \\(file is not a database\\)\\. .* Restore it from a backup`,
      ),
    );
  });

  it('shows where it failed at LOG_LEVEL=debug, and one JSON record when LOG_FORMAT=json asks for it', async () => {
    const debug = await start(await slackEnv({ LOG_LEVEL: 'debug' }), true);
    const at = debug.lines.findIndex((line) => line.startsWith('Cannot reach Slack'));
    expect(at).toBeGreaterThanOrEqual(0);
    expect(debug.lines.slice(at + 1).some((line) => line.startsWith('    at '))).toBe(true);

    const json = await start(await slackEnv({ LOG_FORMAT: 'json' }), true);
    expect(json.lines).toHaveLength(1);
    expect(JSON.parse(json.lines[0]!)).toMatchObject({
      level: 60,
      msg: expect.stringMatching(/^Cannot reach Slack/),
    });
  });
});
