/**
 * Streams one answer to the page as NDJSON: one JSON event per line, written as the core
 * produces it. When the page stops reading (Stop, a closed tab) the question's AbortSignal
 * fires, so the core stops generating too.
 */
import type { ServerResponse } from 'node:http';
import { failures } from '../core/failures.js';
import type { AnswerEvent, Answerer, Question, Source, Turn } from '../core/types.js';
import type { Logger } from '../log.js';

/** What the page receives, line by line. Only what it shows; no timings, usage or ids of passages. */
export type WireEvent =
  | { readonly type: 'start'; readonly questionId: string }
  | { readonly type: 'status'; readonly stage: string }
  | { readonly type: 'sources'; readonly sources: readonly WireSource[] }
  | { readonly type: 'delta'; readonly text: string }
  | { readonly type: 'done'; readonly text: string; readonly degraded: boolean }
  | { readonly type: 'failure'; readonly kind: string; readonly message: string };

export interface WireSource {
  readonly index: number;
  readonly title: string;
  /** Where the passage came from, shown when there is no link. */
  readonly source: string;
  /** Only http(s) links reach the page. */
  readonly url?: string;
}

function linkable(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

export function toWireSource(source: Source): WireSource {
  const url = linkable(source.url);
  return { index: source.index, title: source.title, source: source.source, ...(url ? { url } : {}) };
}

function toWire(event: AnswerEvent): WireEvent {
  switch (event.type) {
    case 'status':
      return { type: 'status', stage: event.stage };
    case 'sources':
      return { type: 'sources', sources: event.sources.map(toWireSource) };
    case 'delta':
      return { type: 'delta', text: event.text };
    case 'done':
      return { type: 'done', text: event.text, degraded: event.degraded };
    case 'failure':
      return { type: 'failure', kind: event.failure.kind, message: event.failure.message };
  }
}

export interface StreamAnswerInput {
  readonly answerer: Answerer;
  readonly question: Omit<Question, 'signal'>;
  readonly history: readonly Turn[];
  readonly log: Logger;
}

export async function streamAnswer(res: ServerResponse, input: StreamAnswerInput): Promise<void> {
  const { answerer, question, history, log } = input;
  const stop = new AbortController();
  // 'close' before the end means the page went away or pressed Stop.
  res.on('close', () => {
    if (!res.writableEnded) stop.abort(new Error('the page stopped reading'));
  });
  const send = (event: WireEvent) => {
    if (!res.destroyed) res.write(`${JSON.stringify(event)}\n`);
  };
  res.writeHead(200, {
    'content-type': 'application/x-ndjson; charset=utf-8',
    'cache-control': 'no-store',
    // Proxies such as nginx would otherwise hold the stream back until it ends.
    'x-accel-buffering': 'no',
  });
  send({ type: 'start', questionId: question.id });
  let ended = false;
  try {
    for await (const event of answerer.answer({ ...question, signal: stop.signal }, history)) {
      send(toWire(event));
      if (event.type === 'done' || event.type === 'failure') {
        ended = true;
        log.info(
          event.type === 'done'
            ? { outcome: 'answered', mode: event.mode, degraded: event.degraded }
            : { outcome: event.failure.kind },
          stop.signal.aborted ? 'answer stopped by the page' : 'answer sent',
        );
      }
    }
  } catch (error) {
    log.error({ err: error }, 'the answer stream broke');
  }
  // Every stream ends in a done or a failure, so the page is never left waiting in silence.
  if (!ended) send({ type: 'failure', kind: 'internal', message: failures.internal().message });
  res.end();
}
