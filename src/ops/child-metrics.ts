/**
 * Metrics from child processes (Discord shards) served by the parent's `/metrics`: the parent
 * asks each child over the IPC channel, the child answers with its registry as JSON, and the
 * parent aggregates them with its own (prom-client sums counters and histograms).
 */
import type { Registry } from 'prom-client';

const REQUEST = 'rag:metrics?';
const REPLY = 'rag:metrics';

interface MetricsRequest {
  readonly type: typeof REQUEST;
  readonly id: number;
}

interface MetricsReply {
  readonly type: typeof REPLY;
  readonly id: number;
  readonly metrics: object[];
}

const isRequest = (message: unknown): message is MetricsRequest =>
  typeof message === 'object' && message !== null && (message as { type?: unknown }).type === REQUEST;

const isReply = (message: unknown, id: number): message is MetricsReply =>
  typeof message === 'object' &&
  message !== null &&
  (message as { type?: unknown }).type === REPLY &&
  (message as { id?: unknown }).id === id;

/** In a child: answer the parent's requests with this registry. */
export function serveMetricsToParent(registry: Registry): void {
  if (!process.send) return;
  process.on('message', (message: unknown) => {
    if (!isRequest(message)) return;
    void registry.getMetricsAsJSON().then((metrics) => {
      process.send?.({ type: REPLY, id: message.id, metrics } satisfies MetricsReply);
    });
  });
}

/** A child as the parent sees it (discord.js's Shard offers exactly this). */
export interface MessagingChild {
  send(message: unknown): Promise<unknown> | unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

let nextId = 0;

/** In the parent: one child's metrics, or none if it does not answer within `timeoutMs`. */
export function requestChildMetrics(child: MessagingChild, timeoutMs = 2_000): Promise<object[] | undefined> {
  const id = ++nextId;
  return new Promise((resolve) => {
    const listener = (message: unknown) => {
      if (!isReply(message, id)) return;
      done(message.metrics);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    timer.unref();
    function done(metrics: object[] | undefined) {
      clearTimeout(timer);
      child.off('message', listener);
      resolve(metrics);
    }
    child.on('message', listener);
    Promise.resolve(child.send({ type: REQUEST, id } satisfies MetricsRequest)).catch(() => done(undefined));
  });
}
