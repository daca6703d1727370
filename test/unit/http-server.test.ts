/**
 * The operational server (health, metrics, the web chat when Slack's receiver is not serving
 * them) does not let a client hold a connection by sending its request a byte at a time.
 */
import type { Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpServer } from '../../src/http/server.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(): Promise<number> {
  const server = await startHttpServer(
    0,
    [
      { method: 'GET', path: '/healthz', handler: (_req, res) => void res.end('ok\n') },
      {
        method: 'POST',
        path: '/ask',
        handler: (req, res) => {
          req.resume();
          req.on('end', () => res.end('read\n'));
        },
      },
    ],
    { host: '127.0.0.1', requestTimeoutMs: 300 },
  );
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

/** Sends `text` and never finishes the request; resolves with what the server said once it closed. */
function stall(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let said = '';
    socket.on('data', (data) => {
      said += data.toString();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(said));
  });
}

describe('the operational HTTP server', () => {
  it('answers a whole request', async () => {
    const port = await serve();
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(await response.text()).toBe('ok\n');
  });

  it('closes a connection whose headers never end, with 408', async () => {
    const port = await serve();
    expect(await stall(port, 'GET /healthz HTTP/1.1\r\nHost: bot\r\n')).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes a connection whose body never ends, with 408', async () => {
    const port = await serve();
    const said = await stall(port, 'POST /ask HTTP/1.1\r\nHost: bot\r\nContent-Length: 100\r\n\r\nab');
    expect(said).toMatch(/^HTTP\/1\.1 408/);
  });
});
