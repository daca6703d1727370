/**
 * The offline answerer: no model, just the sentences of the retrieved passages that best
 * match the question, each cited. It is the embedded default (no GROQ_API_KEY) and the
 * degraded answer when Groq is unavailable, so it always says plainly what it is.
 */
import type { GenerationChunk, GenerationRequest, Generator } from '../core/types.js';

export const OFFLINE_LABEL =
  '_Offline answer: the most relevant passages from the knowledge base, quoted without an AI model. Set GROQ_API_KEY for written answers._';
export const DEGRADED_LABEL =
  '_Groq is unavailable right now, so here are the most relevant passages from the knowledge base instead of a written answer._';

const STOPWORDS = new Set(
  'a an and are as at be by can do does for from how i if in is it its me my of on or so that the this to was what when where which who why will with you your'.split(
    ' ',
  ),
);

/** Lower-cased content words, crudely stemmed so "installing" meets "install". */
function terms(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])
    .filter((word) => word.length > 1 && !STOPWORDS.has(word))
    .map((word) => word.replace(/(ing|ed|es|s)$/u, '') || word);
}

/** Prose sentences and list items of a passage, without headings or code blocks. */
function sentences(text: string): string[] {
  const out: string[] = [];
  const withoutCode = text.replace(/```[\s\S]*?```/g, '\n');
  for (const block of withoutCode.split(/\n\s*\n/)) {
    // Markdown wraps paragraphs and list items over several lines: join them first.
    const items: string[] = [];
    for (const rawLine of block.split('\n')) {
      const line = rawLine.trim();
      if (!line || /^#{1,6}\s/.test(line) || /^[-=|]{3,}/.test(line)) continue;
      const item = /^([-*+]|\d+[.)])\s+(.*)$/.exec(line);
      if (item) items.push(item[2] ?? '');
      else if (items.length > 0) items[items.length - 1] += ` ${line}`;
      else items.push(line);
    }
    // A sentence ends at . ! ? followed by a space and a capital, digit or markup (not ".env" or "e.g. this").
    for (const item of items) out.push(...item.split(/(?<=[.!?])\s+(?=[A-Z0-9"'`*_[(])/));
  }
  return out.map((sentence) => sentence.trim()).filter((sentence) => sentence.length >= 3);
}

export interface ExtractiveOptions {
  /** First line of every answer, saying what kind of answer this is. */
  readonly label?: string;
  /** Longest answer in characters. */
  readonly maxChars?: number;
}

export class ExtractiveGenerator implements Generator {
  readonly mode = 'extractive' as const;
  readonly model = 'extractive';
  private readonly label: string;
  private readonly maxChars: number;

  constructor(options: ExtractiveOptions = {}) {
    this.label = options.label ?? OFFLINE_LABEL;
    this.maxChars = options.maxChars ?? 1_200;
  }

  async *generate(request: GenerationRequest): AsyncIterable<GenerationChunk> {
    if (request.purpose === 'condense') {
      // No model to rewrite follow-ups: the last user turn plus the question retrieves well enough.
      const lastUser = [...request.history].reverse().find((turn) => turn.role === 'user');
      yield { type: 'text', text: lastUser ? `${lastUser.text}\n${request.question}` : request.question };
      return;
    }
    const lines = this.extract(request.question, request);
    yield { type: 'text', text: `${this.label}\n\n` };
    for (const line of lines) {
      request.signal?.throwIfAborted();
      yield { type: 'text', text: `${line}\n` };
    }
  }

  private extract(question: string, request: GenerationRequest): string[] {
    const wanted = new Set(terms(question));
    const lines: string[] = [];
    let length = 0;
    request.passages.forEach((passage, i) => {
      const candidates = sentences(passage.text);
      const scored = candidates
        .map((sentence, order) => ({
          sentence,
          order,
          score: terms(sentence).filter((term) => wanted.has(term)).length,
        }))
        .filter((entry) => entry.score > 0)
        .sort((a, b) => b.score - a.score || a.order - b.order)
        .slice(0, i === 0 ? 3 : 2)
        .sort((a, b) => a.order - b.order);
      const picked = scored.length > 0 ? scored.map((entry) => entry.sentence) : candidates.slice(0, 1);
      for (const sentence of picked) {
        const line = `- ${sentence} [${i + 1}]`;
        if (length + line.length > this.maxChars && lines.length > 0) return;
        lines.push(line);
        length += line.length;
      }
    });
    return lines;
  }
}
