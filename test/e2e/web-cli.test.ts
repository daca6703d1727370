/**
 * `npm run web` as a user runs it: with no accounts it serves the chat on the embedded
 * defaults, prints the URL, answers from it, and stops cleanly; bad settings stop it with a
 * clear message.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { ROOT, runCli, tempDataDir } from './cli.js';

const SCRIPT = 'src/cli/web.ts';

describe('npm run web', () => {
  let child: ChildProcess | undefined;
  let dataDir: string | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('serves the chat with no accounts, prints its URL, answers, and stops on SIGTERM', async () => {
    dataDir = await tempDataDir();
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, SCRIPT)], {
      cwd: ROOT,
      env: { ...env, RAG_DOTENV: 'off', PORT: '0', RAG_DATA_DIR: dataDir, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const url = await waitFor(
      () => /Web chat: (http:\/\/localhost:\d+\/)/.exec(stdout)?.[1],
      `the URL on stdout (stderr: ${stderr})`,
      60_000,
    );

    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Ask the knowledge base');
    const answer = await fetch(new URL('/api/chat', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ question: 'How do I add the bot to Slack?' }),
    });
    const lines = (await answer.text()).trim().split('\n');
    const done = JSON.parse(lines.at(-1) ?? '{}') as { type: string; text: string };
    expect(done.type).toBe('done');
    expect(done.text).toMatch(/Slack/);
    // A local tool: it listens on the loopback alone, not on this machine's other addresses.
    const elsewhere = Object.values(networkInterfaces())
      .flat()
      .find((address) => address && address.family === 'IPv4' && !address.internal);
    if (elsewhere) {
      const { port } = new URL(url);
      await expect(fetch(`http://${elsewhere.address}:${port}/healthz`)).rejects.toThrow();
    }

    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 90_000);

  it('refuses bad WEB_CHAT_ORIGINS and a short WEB_CHAT_TOKEN with one clear message', async () => {
    const result = await runCli(SCRIPT, [], {
      env: { WEB_CHAT_ORIGINS: 'docs.example.com', WEB_CHAT_TOKEN: 'too-short', PORT: '0' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('WEB_CHAT_ORIGINS');
    expect(result.stderr).toContain('WEB_CHAT_TOKEN must be at least 16 characters');
    expect(result.stderr).not.toContain('too-short');
  });

  it('names the port and what to do when another program holds it', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      const result = await runCli(SCRIPT, [], {
        env: { PORT: String(port), RAG_DATA_DIR: await tempDataDir() },
      });
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n').at(-1)).toBe(
        `Port ${port} is already in use by another program: stop that program, or set PORT to a free port.`,
      );
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
