/**
 * Attacks on the web chat, performed against the real `npm run web` process:
 *
 * - DNS rebinding (issue 17 item 15): a page on another site, its name rebound to the bot's
 *   address, calls the chat with its own Host and Origin. Refused with 421, whatever the Origin.
 * - Forged X-Forwarded-For (item 14): a client writes a new address into each request to dodge
 *   the rate limit. Only the address the trusted proxy appended counts.
 * - Reversible pseudonyms (item 13): whoever holds app.db hashes every candidate address to find
 *   a web visitor's. The asker's pseudonym is a keyed hash; the key stays in a 0600 file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { ROOT, tempDataDir } from './cli.js';

interface Web {
  readonly port: number;
  readonly dataDir: string;
  output(): string;
  stop(): Promise<void>;
}
const running: Web[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((web) => web.stop()));
});

async function startWeb(env: Record<string, string> = {}): Promise<Web> {
  const dataDir = await tempDataDir();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/web.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      RAG_DOTENV: 'off',
      PORT: '0',
      RAG_DATA_DIR: dataDir,
      NO_COLOR: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const port = Number(
    await waitFor(
      () => /Web chat: http:\/\/localhost:(\d+)\//.exec(output)?.[1],
      `the URL (${output})`,
      60_000,
    ),
  );
  const web: Web = {
    port,
    dataDir,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
  running.push(web);
  return web;
}

interface Reply {
  readonly status: number;
  readonly body: string;
}

/** A raw HTTP request, so the Host header can be anything (fetch never lets a page set it). */
function send(
  port: number,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: unknown },
): Promise<Reply> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? (body ? 'POST' : 'GET'),
        path: options.path ?? '/',
        headers: {
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const ask = (port: number, headers: Record<string, string>, question = 'How do I add the bot to Slack?') =>
  send(port, { path: '/api/chat', headers, body: { question } });
const answered = (reply: Reply) => reply.status === 200 && reply.body.includes('"type":"done"');

describe('npm run web under attack', () => {
  it('DNS rebinding: a request for another host name gets 421 and no answer, whatever its Origin says', async () => {
    const web = await startWeb({ WEB_CHAT_PUBLIC_URL: 'http://chat.example.test' });
    const evil = `evil.example:${web.port}`;
    const page = await send(web.port, { headers: { host: evil } });
    expect(page.status).toBe(421);
    expect(page.body).not.toContain('Ask the knowledge base');
    const rebound = await ask(web.port, { host: evil, origin: `http://${evil}` });
    expect(rebound.status).toBe(421);
    expect(rebound.body).toContain('WEB_CHAT_PUBLIC_URL');
    expect(answered(rebound)).toBe(false);
    // Its files and every API route too.
    expect((await send(web.port, { path: '/widget.js', headers: { host: evil } })).status).toBe(421);
    const vote = { questionId: 'q', vote: 'up' };
    expect(
      (await send(web.port, { path: '/api/feedback', headers: { host: evil }, body: vote })).status,
    ).toBe(421);
    // The chat's own names still work: its public address, and the local one it printed.
    expect(
      answered(await ask(web.port, { host: 'chat.example.test', origin: 'http://chat.example.test' })),
    ).toBe(true);
    expect(
      answered(
        await ask(web.port, { host: `localhost:${web.port}`, origin: `http://localhost:${web.port}` }),
      ),
    ).toBe(true);
    // A page of another origin, even on this host name, is still refused.
    const foreign = await ask(web.port, { host: 'chat.example.test', origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    expect(web.output()).toContain('refused a request for a host name');
  });

  it('forged X-Forwarded-For: behind one proxy, a client writing a new address each time is still limited', async () => {
    // The older switch keeps working, read as one proxy hop, and says so.
    const web = await startWeb({ WEB_CHAT_TRUST_PROXY: 'true' });
    const replies: Reply[] = [];
    for (let i = 0; i < 30; i++) {
      // The client writes 10.9.8.i; the proxy in front appends the address it really saw.
      replies.push(
        await ask(web.port, { host: `localhost:${web.port}`, 'x-forwarded-for': `10.9.8.${i}, 203.0.113.7` }),
      );
    }
    expect(replies.filter((reply) => reply.status === 429)).toHaveLength(10);
    expect(replies.filter(answered).length).toBeLessThanOrEqual(10);
    expect(web.output()).toContain('WEB_CHAT_TRUST_PROXY=true is read as TRUST_PROXY=1');
  });

  it('an IPv6 client writing a new address of its /64 into each request is limited as one client', async () => {
    const web = await startWeb({ TRUST_PROXY: '1' });
    const replies: Reply[] = [];
    for (let i = 0; i < 30; i++) {
      // The proxy appends what it saw: a new address each time, all in the client's own /64.
      const seen = `2001:db8:77:1:${(0x1000 + i).toString(16)}:${i.toString(16)}:${(i * 7).toString(16)}:1`;
      replies.push(await ask(web.port, { host: `localhost:${web.port}`, 'x-forwarded-for': seen }));
    }
    expect(replies.filter((reply) => reply.status === 429)).toHaveLength(10);
    // Another network is another client.
    const other = await ask(web.port, {
      host: `localhost:${web.port}`,
      'x-forwarded-for': '2001:db8:78:1::5',
    });
    expect(other.status).not.toBe(429);
  });

  it('pseudonyms: a web visitor’s address cannot be found again by hashing candidates; the key file is 0600', async () => {
    const web = await startWeb();
    expect(answered(await ask(web.port, { host: `localhost:${web.port}` }))).toBe(true);
    const db = new DatabaseSync(join(web.dataDir, 'app.db'), { readOnly: true });
    const rows = await waitFor(() => {
      const found = db.prepare('SELECT asker_id FROM answer_records').all() as { asker_id: string }[];
      return found.length > 0 ? found : undefined;
    }, 'the answer record');
    db.close();
    const stored = rows[0]!.asker_id;
    // What an attacker holding app.db tries: hash each candidate address, unkeyed.
    const candidates = ['127.0.0.1', '::1', '::ffff:127.0.0.1'];
    const unkeyed = (id: string) => createHash('sha256').update(`rag-chat-bot:person:${id}`).digest('hex');
    for (const candidate of candidates) expect(unkeyed(candidate)).not.toContain(stored);
    // Only with the installation's key does the address give the pseudonym back.
    const keyFile = join(web.dataDir, 'pseudonym.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64');
    const keyed = (id: string) =>
      createHmac('sha256', key).update(`rag-chat-bot:person:${id}`).digest('hex').slice(0, 32);
    expect(candidates.map(keyed)).toContain(stored);
  });
});
