/**
 * A resolved thread as knowledge: the question, the people's answers and the bot's, written as
 * one document whose source and URL are the thread's permalink, so later answers cite the
 * thread. Authors' names and user mentions are left out unless kept on purpose
 * (SAVE_TO_KB_KEEP_NAMES). Saving the same thread again replaces what was saved before.
 * Platform-neutral: each front end reads its thread into `ThreadMessage`s.
 */
import type { CollectionStore } from '../core/types.js';
import { type ParsePool, parsePool } from '../ingest/parse-pool.js';

export interface ThreadMessage {
  /** `question`: the message the thread started from; `bot`: this bot's answers. */
  readonly role: 'question' | 'human' | 'bot';
  readonly text: string;
  readonly author?: string;
}

export interface SaveThreadInput {
  readonly collection: string;
  /** The thread's link (Slack permalink, Discord message URL): source and citation. */
  readonly permalink: string;
  readonly messages: readonly ThreadMessage[];
  readonly keepNames?: boolean;
}

export interface SavedThread {
  readonly collection: string;
  readonly title: string;
  readonly messages: number;
  readonly chunks: number;
  /** Messages of the thread left out by MAX_SAVED_THREAD_MESSAGES (said in the confirmation). */
  readonly omitted?: number;
}

/**
 * The most messages of one thread saved as knowledge, on every platform: the message it started
 * from (the question) and the newest replies (where a resolution is). Longer threads are cut in
 * the middle, and the confirmation says how many were saved of how many.
 */
export const MAX_SAVED_THREAD_MESSAGES = 100;

/** `messages` as a thread is saved: the first and the newest, `max` in all; and how many were left out. */
export function firstAndNewest<T>(
  messages: readonly T[],
  max = MAX_SAVED_THREAD_MESSAGES,
): { kept: T[]; omitted: number } {
  if (messages.length <= max) return { kept: [...messages], omitted: 0 };
  return {
    kept: [messages[0]!, ...messages.slice(messages.length - (max - 1))],
    omitted: messages.length - max,
  };
}

/** Slack `<@U…>`/`<@U…|name>`, Discord `<@…>`/`<@!…>`/`<@&…>`, and `<!subteam…>` tokens. */
const MENTIONS = /<[@!][!&]?[\w^|.-]*>/g;
const MAX_TITLE = 80;

function clean(text: string, keepNames: boolean): string {
  const plain = text.replace(/\r\n?/g, '\n').trim();
  return keepNames ? plain : plain.replace(MENTIONS, 'someone');
}

function titleOf(question: string): string {
  const line =
    question
      .split('\n')
      .find((part) => part.trim())
      ?.trim() ?? 'Saved thread';
  const short = line.length > MAX_TITLE ? `${line.slice(0, MAX_TITLE - 1).trimEnd()}…` : line;
  // Headings would break the document's structure: the title is one plain line.
  return short.replace(/^#+\s*/, '');
}

/** The thread as a markdown document: one labelled paragraph per message, in order. */
export function threadDocument(messages: readonly ThreadMessage[], keepNames: boolean) {
  const kept = messages
    .map((message) => ({ ...message, text: clean(message.text, keepNames) }))
    .filter((message) => message.text);
  const question = kept.find((message) => message.role === 'question') ?? kept[0];
  const title = `Saved thread: ${titleOf(question?.text ?? '')}`;
  const heading = (message: ThreadMessage) => {
    const who = keepNames && message.author ? ` (${message.author.replace(/[\n#]/g, ' ').trim()})` : '';
    if (message.role === 'question') return `Question${who}`;
    return message.role === 'bot' ? 'Answer from the bot' : `Answer from the team${who}`;
  };
  // One section, labelled paragraphs: the question and its answers stay in the same chunks. A
  // message's own headings are escaped so they cannot split the thread apart.
  const body = kept
    .map((message) => `**${heading(message)}:** ${message.text.replace(/^(\s{0,3})#/gm, '$1\\#')}`)
    .join('\n\n');
  return { title, markdown: `# ${title}\n\n${body}\n`, messages: kept.length };
}

/**
 * Saves the thread. People's text is chunked in the parse pool (`parser`, default the
 * process's), as every fetched document is: a hundred messages of 40,000 characters each is
 * megabytes of Markdown, seconds of chunking that must not hold the bot's event loop, and past
 * PARSE_MAX_CHARS the save is refused (`TooLargeError`) rather than stored.
 */
export async function saveThreadAsKnowledge(
  store: CollectionStore,
  input: SaveThreadInput,
  parser: ParsePool = parsePool(),
): Promise<SavedThread> {
  const target = store.collection(input.collection);
  const document = threadDocument(input.messages, input.keepNames ?? false);
  if (document.messages === 0) {
    return { collection: input.collection, title: document.title, messages: 0, chunks: 0 };
  }
  const parsed = await parser.run({
    kind: 'source',
    format: 'issue',
    text: document.markdown,
    title: document.title,
    url: input.permalink,
    // The thread itself is cited, not a section anchor.
    anchors: false,
    maxChars: parser.settings.maxChars,
  });
  const chunks = parsed.chunks;
  const ids = new Set(chunks.map((chunk) => chunk.id));
  const previous = [...(await target.listIds())]
    .filter(([id, source]) => source === input.permalink && !ids.has(id))
    .map(([id]) => id);
  await target.upsert(chunks);
  if (previous.length > 0) await target.delete(previous);
  return {
    collection: input.collection,
    title: document.title,
    messages: document.messages,
    chunks: chunks.length,
  };
}
