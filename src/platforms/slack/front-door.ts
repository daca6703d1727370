/**
 * The HTTP server in front of Bolt's receiver. Bolt reads a request's whole body before it
 * checks the signature, with Node's server defaults (5 minutes to send a request, no bound on
 * how many are being read): anyone could make the bot hold megabytes per connection. Here,
 * before a byte of a body to /slack/events is read:
 * - a request without Slack's signature headers, or whose timestamp is outside Slack's
 *   five-minute window, is refused (401). This is a cheap filter, not the check: timestamps
 *   are public and the HMAC, which needs the body, is still Bolt's;
 * - a body declared (or found, when chunked) larger than `maxBodyBytes` is refused (413);
 * - bodies not yet verified share one budget, `pendingBodyBytes`, across all connections
 *   (503 past it); an eighth more is kept for small bodies (Slack's own events, commands and
 *   clicks are 2-20 KB), so stalled uploads of large bodies, which anyone can send with a
 *   current timestamp and a signature of the right shape, cannot turn away Slack's deliveries;
 * - the whole request must arrive within `requestTimeoutMs` (Node answers 408 and closes).
 * The body read here is handed to Bolt as already read (`rawBody`), so Bolt verifies and
 * parses it as usual. The install pages, the web chat and the health routes pass through
 * untouched (the web chat limits its own bodies).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../../log.js';
import { dispatchErrorResponse, type HTTPReceiver } from './bolt.js';

export interface SlackDoorLimits {
  /** The largest body accepted on /slack/events (SLACK_MAX_BODY_BYTES). */
  readonly maxBodyBytes: number;
  /** Bytes of bodies read but not yet verified, across all connections (SLACK_PENDING_BODY_BYTES). */
  readonly pendingBodyBytes: number;
  /** Time for a whole request, headers and body, to arrive (SLACK_REQUEST_TIMEOUT_MS). */
  readonly requestTimeoutMs: number;
  /** How often Node looks for requests over their time; tests shorten it. */
  readonly timeoutCheckMs?: number;
}

/**
 * 1 MiB: the largest payload a person can make Slack send is a message shortcut on a
 * 40,000-character message (Slack's limit) with its rich-text copy, form-encoded: 121 KB in
 * Latin text, 721 KB in CJK. Ordinary events, commands and clicks are 2-20 KB.
 */
export const DEFAULT_DOOR_LIMITS: SlackDoorLimits = {
  maxBodyBytes: 1024 * 1024,
  pendingBodyBytes: 8 * 1024 * 1024,
  requestTimeoutMs: 10_000,
};

/**
 * Room kept beside the budget for small bodies, and the largest body that may use it: an eighth
 * of the budget (1 MiB by default), far above Slack's own 2-20 KB deliveries.
 */
function smallBodyReserve(limits: SlackDoorLimits): number {
  return Math.floor(limits.pendingBodyBytes / 8);
}

/** Slack's replay window: a timestamp further than this from our clock is refused. */
const WINDOW_SECONDS = 5 * 60;
/** Slack's SSL check (`ssl_check=1&token=…`, about 40 bytes) is the one unsigned request it sends. */
const SSL_CHECK_MAX_BYTES = 256;
/** Headers come first and quickly; never more than this, nor more than the request's time. */
const HEADERS_TIMEOUT_MS = 5_000;
/** Refusals are logged once, then summed up at most once a minute. */
const REFUSAL_LOG_EVERY_MS = 60_000;

/** Where Slack sends events, commands and interactions (Bolt's receiver is given the same). */
export const EVENTS_PATH = '/slack/events';
const SIGNATURE = /^v0=[0-9a-f]{64}$/;
const TIMESTAMP = /^\d{1,12}$/;

export type Refusal = 'unsigned' | 'stale' | 'too_large' | 'busy';

export interface SlackDoorStats {
  /** Body bytes read on /slack/events since start, refused or not. */
  readonly bodyBytesRead: number;
  /** Body bytes read and not yet handed to Bolt's signature check. */
  readonly pendingBytes: number;
  readonly refused: Readonly<Record<Refusal, number>>;
}

const STATUS: Record<Refusal, number> = { unsigned: 401, stale: 401, too_large: 413, busy: 503 };

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** Where a request's signature is kept in Bolt's context, for the replay check (index.ts). */
export const SIGNATURE_PROPERTY = 'slackRequestSignature';

/**
 * Passed to Bolt as `customPropertiesExtractor`: the request's signature in its context. Only
 * the exact form the door lets through (Bolt's own check would also accept `v0=<hash>=<more>`,
 * a different header for the same request).
 */
export function signatureProperty(req: IncomingMessage): Record<string, string> {
  const signature = header(req, 'x-slack-signature');
  return signature && SIGNATURE.test(signature) ? { [SIGNATURE_PROPERTY]: signature } : {};
}

/** Why a request to the events endpoint is refused before its body is read, if it is. */
function headerRefusal(req: IncomingMessage, limits: SlackDoorLimits, nowMs: number): Refusal | undefined {
  const declared =
    req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
  const signature = header(req, 'x-slack-signature');
  const timestamp = header(req, 'x-slack-request-timestamp');
  if (signature === undefined && timestamp === undefined) {
    const form = /^application\/x-www-form-urlencoded\s*(;|$)/i.test(header(req, 'content-type') ?? '');
    return form && declared !== undefined && declared <= SSL_CHECK_MAX_BYTES ? undefined : 'unsigned';
  }
  if (!signature || !SIGNATURE.test(signature) || !timestamp || !TIMESTAMP.test(timestamp)) return 'unsigned';
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > WINDOW_SECONDS) return 'stale';
  if (declared !== undefined && !(declared <= limits.maxBodyBytes)) return 'too_large';
  return undefined;
}

/**
 * Bolt's `Receiver` for HTTP mode: Bolt's own HTTPReceiver does the routing, signature check,
 * OAuth pages and acks; this owns the server and the door to it.
 */
export class GuardedReceiver {
  private server: Server | undefined;
  private pending = 0;
  /** Bytes of small bodies read from the reserve while the budget was full. */
  private reserved = 0;
  private bodyBytesRead = 0;
  private readonly refused: Record<Refusal, number> = { unsigned: 0, stale: 0, too_large: 0, busy: 0 };
  private readonly unlogged: Record<Refusal, number> = { unsigned: 0, stale: 0, too_large: 0, busy: 0 };
  private lastRefusalLog: number | undefined;

  private readonly log: Logger;
  private readonly boltLog: BoltLogger;
  private readonly now: () => number;

  constructor(
    private readonly inner: HTTPReceiver,
    private readonly limits: SlackDoorLimits,
    options: { readonly log: Logger; readonly boltLog: BoltLogger; readonly now?: () => number },
  ) {
    this.log = options.log;
    this.boltLog = options.boltLog;
    this.now = options.now ?? Date.now;
  }

  /** Bolt reads the OAuth installer from its receiver to authorize requests. */
  get installer(): HTTPReceiver['installer'] {
    return this.inner.installer;
  }

  init(app: Parameters<HTTPReceiver['init']>[0]): void {
    this.inner.init(app);
  }

  stats(): SlackDoorStats {
    return {
      bodyBytesRead: this.bodyBytesRead,
      pendingBytes: this.pending + this.reserved,
      refused: { ...this.refused },
    };
  }

  async start(port: number): Promise<Server> {
    if (this.server) throw new Error('The Slack receiver is already started');
    const requestTimeout = this.limits.requestTimeoutMs;
    const server = createServer(
      {
        requestTimeout,
        headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeout),
        connectionsCheckingInterval: this.limits.timeoutCheckMs ?? Math.min(1_000, requestTimeout),
      },
      (req, res) => this.onRequest(req, res),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    return server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== EVENTS_PATH || req.method?.toUpperCase() !== 'POST') {
      this.dispatch(req, res);
      return;
    }
    const refusal = headerRefusal(req, this.limits, this.now());
    if (refusal) {
      this.refuse(req, res, refusal);
      return;
    }
    this.readBody(req, res);
  }

  /** Reads the body within the limits, then hands the request to Bolt as already read. */
  private readBody(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let fromReserve = 0;
    let done = false;
    const reserve = smallBodyReserve(this.limits);
    const finish = () => {
      done = true;
      this.pending -= size - fromReserve;
      this.reserved -= fromReserve;
      req.off('data', onData);
    };
    const onData = (chunk: Buffer) => {
      if (done) return;
      this.bodyBytesRead += chunk.length;
      const length = chunk.length;
      let refusal: Refusal | undefined;
      if (size + length > this.limits.maxBodyBytes) refusal = 'too_large';
      else if (this.pending + length <= this.limits.pendingBodyBytes) this.pending += length;
      else if (size + length <= reserve && this.reserved + length <= reserve) {
        this.reserved += length;
        fromReserve += length;
      } else refusal = 'busy';
      if (refusal) {
        finish();
        this.refuse(req, res, refusal);
        return;
      }
      size += length;
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (done) return;
      finish();
      this.dispatch(Object.assign(req, { rawBody: Buffer.concat(chunks, size) }), res);
    });
    // Broken off or cut by the request timeout: its bytes go back to the budget.
    req.once('close', () => {
      if (!done) finish();
    });
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    try {
      this.inner.requestListener(req, res);
    } catch (error) {
      dispatchErrorResponse(error, req, res, this.boltLog);
    }
  }

  /** Answers at once and drops the connection: what the client still sends is never read. */
  private refuse(req: IncomingMessage, res: ServerResponse, refusal: Refusal): void {
    this.refused[refusal] += 1;
    this.unlogged[refusal] += 1;
    this.logRefusals();
    if (!res.headersSent) {
      res.writeHead(STATUS[refusal], {
        connection: 'close',
        'content-length': '0',
        ...(refusal === 'busy' ? { 'retry-after': '1' } : {}),
      });
    }
    res.end(() => {
      if (!req.complete) req.socket.destroy();
    });
  }

  private logRefusals(): void {
    const now = this.now();
    if (this.lastRefusalLog !== undefined && now - this.lastRefusalLog < REFUSAL_LOG_EVERY_MS) return;
    this.lastRefusalLog = now;
    const counts = Object.fromEntries(Object.entries(this.unlogged).filter(([, count]) => count > 0));
    for (const key of Object.keys(this.unlogged) as Refusal[]) this.unlogged[key] = 0;
    this.log.warn(
      { refused: counts, maxBodyBytes: this.limits.maxBodyBytes },
      'refused Slack requests before reading their bodies (unsigned or stale headers, too large, or too many unverified bytes at once)',
    );
  }
}
