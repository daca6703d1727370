/**
 * A browser tab as a conversation: the answer is streamed to the page as NDJSON, one event per
 * line, as the shared conversation layer writes it. The tab keeps its own history and sends it
 * with each question. When the page stops reading (Stop, a closed tab) the question's
 * AbortSignal fires, so the core stops generating too. Sources go out as soon as they are
 * known, before the text, so a stopped answer keeps them as the terminal's does.
 */
import type { ServerResponse } from 'node:http';
import type { Conversation, FinalReply } from '../conversation/conversation.js';
import { safeHttpUrl } from '../core/sources.js';
import type { Source, Turn } from '../core/types.js';
import { plainNeutralizer } from '../render/plain-text.js';

/** What the page receives, line by line. Only what it shows; no timings, usage or ids of passages. */
export type WireEvent =
  | { readonly type: 'start'; readonly questionId: string }
  | { readonly type: 'status'; readonly stage: string }
  | {
      readonly type: 'sources';
      readonly sources: readonly WireSource[];
      /** Searched, but not cited by the answer. */
      readonly alsoSearched?: readonly WireSource[];
    }
  | { readonly type: 'delta'; readonly text: string }
  | { readonly type: 'done'; readonly text: string }
  | { readonly type: 'failure'; readonly message: string };

export interface WireSource {
  readonly index: number;
  readonly title: string;
  /** Where the document lives (its path relative to the folder ingested), shown when there is no link. */
  readonly source: string;
  /** Only http(s) links reach the page. */
  readonly url?: string;
  /** The sections of the document the answer was given, when more than one. */
  readonly sections?: readonly string[];
}

export function toWireSource(source: Source): WireSource {
  const url = safeHttpUrl(source.url);
  const passages = source.passages ?? [];
  const sections = [...new Set(passages.map((passage) => passage.section ?? source.title))];
  return {
    index: source.index,
    title: source.title,
    source: source.location ?? source.source,
    ...(url ? { url } : {}),
    ...(passages.length > 1 ? { sections } : {}),
  };
}

export interface WebTab {
  readonly res: ServerResponse;
  /** The tab's id, when the page sent one: the conversation's "channel". */
  readonly tabId?: string;
  /** The client's address, the asker for rate limits. */
  readonly client: string;
  readonly history: readonly Turn[];
}

/** Opens the NDJSON stream on `res`; returns the conversation and the signal the page controls. */
export function webConversation(
  tab: WebTab,
  questionId: string,
): { conversation: Conversation; signal: AbortSignal } {
  const { res } = tab;
  const stop = new AbortController();
  // 'close' before the end means the page went away or pressed Stop.
  res.on('close', () => {
    if (!res.writableEnded) stop.abort(new Error('the page stopped reading'));
  });
  const send = (event: WireEvent) => {
    if (!res.destroyed && !res.writableEnded) res.write(`${JSON.stringify(event)}\n`);
  };
  res.writeHead(200, {
    'content-type': 'application/x-ndjson; charset=utf-8',
    'cache-control': 'no-store',
    // Proxies such as nginx would otherwise hold the stream back until it ends.
    'x-accel-buffering': 'no',
  });
  send({ type: 'start', questionId });
  const end = (event: WireEvent) => {
    send(event);
    res.end();
  };
  const conversation: Conversation = {
    place: { platform: 'web', ...(tab.tabId ? { channelId: tab.tabId } : {}), direct: true },
    asker: { id: tab.client },
    // The page renders markdown with HTML escaped, so text needs no neutralising here.
    presenter: { neutralizer: plainNeutralizer, writeIntervalMs: 0 },
    history: async () => [...tab.history],
    openReply: async () => ({
      writes: 'append',
      async write(piece) {
        send({ type: 'delta', text: piece });
      },
      async finish(final: FinalReply) {
        const tail = final.text.slice(final.written);
        if (tail) send({ type: 'delta', text: tail });
        if (final.sources.length > 0) {
          send({
            type: 'sources',
            sources: final.sources.map(toWireSource),
            ...(final.alsoSearched?.length ? { alsoSearched: final.alsoSearched.map(toWireSource) } : {}),
          });
        }
        end(final.notice ? { type: 'failure', message: final.notice } : { type: 'done', text: final.text });
      },
    }),
    async showWorking(stage) {
      send({ type: 'status', stage });
    },
    // Every source the answer is written from, before the text, so a page that stops reading
    // (Stop) still has them; the end sends the ones the answer cites, which replace them.
    sourcesFound(sources) {
      if (sources.length > 0) send({ type: 'sources', sources: sources.map(toWireSource) });
    },
    async notify(text) {
      end({ type: 'failure', message: text });
    },
  };
  return { conversation, signal: stop.signal };
}
