/**
 * The offline answerer: no model, just the sentences of the retrieved passages that best
 * match the question, each cited. It is the embedded default (no GROQ_API_KEY) and the
 * degraded answer when Groq is unavailable, so it always says plainly what it is.
 */
import type { GenerationChunk, GenerationRequest, Generator } from '../core/types.js';
import { terms } from '../stores/local/terms.js';
import { rewriteFollowUp } from './follow-up.js';

export const OFFLINE_LABEL =
  '_Offline answer: the most relevant passages from the knowledge base, quoted without an AI model. Set GROQ_API_KEY for written answers._';
export const DEGRADED_LABEL =
  '_Groq is unavailable right now, so here are the most relevant passages from the knowledge base instead of a written answer._';

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

/** Quoting more than this many sentences stops being an answer. */
const MAX_SENTENCES = 6;

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
      // No model to rewrite follow-ups: rules resolve "it" and "what about …" (follow-up.ts).
      const lastUser = [...request.history].reverse().find((turn) => turn.role === 'user');
      yield { type: 'text', text: rewriteFollowUp(request.question, lastUser?.text) };
      return;
    }
    const lines = this.extract(request.question, request);
    yield { type: 'text', text: `${this.label}\n\n` };
    for (const line of lines) {
      request.signal?.throwIfAborted();
      yield { type: 'text', text: `${line}\n` };
    }
  }

  /**
   * The sentences that answer the question, best first, each cited with its passage number.
   * A sentence scores by the question terms it holds, each weighted by how few of the retrieved
   * sentences hold it (the distinctive words of the question matter most), with a small lead
   * for better-ranked passages. Nothing matching: the first sentence of each passage.
   */
  private extract(question: string, request: GenerationRequest): string[] {
    const wanted = new Set(terms(question));
    const candidates = request.passages.flatMap((passage, index) =>
      sentences(passage.text).map((sentence, order) => ({
        sentence,
        index,
        order,
        found: new Set(terms(sentence).filter((term) => wanted.has(term))),
      })),
    );
    const holding = new Map<string, number>();
    for (const candidate of candidates)
      for (const term of candidate.found) holding.set(term, (holding.get(term) ?? 0) + 1);
    const weight = (term: string) => Math.log(1 + candidates.length / (holding.get(term) ?? 1));
    const ranked = candidates
      .map((candidate) => ({
        ...candidate,
        score:
          [...candidate.found].reduce((sum, term) => sum + weight(term), 0) *
          (1 - 0.1 * Math.min(candidate.index, 5)),
      }))
      .filter((candidate) => candidate.score > 0)
      .sort((a, b) => b.score - a.score || a.index - b.index || a.order - b.order);
    // No sentence holds a question word (a record found by its metadata, say "region: Japan"):
    // each passage's opening sentence says what it is.
    const picked =
      ranked.length > 0
        ? ranked.slice(0, MAX_SENTENCES)
        : candidates.filter((candidate) => candidate.order === 0).slice(0, MAX_SENTENCES);
    const lines: string[] = [];
    let length = 0;
    for (const { sentence, index } of picked) {
      const line = `- ${sentence} [${index + 1}]`;
      if (length + line.length > this.maxChars && lines.length > 0) break;
      lines.push(line);
      length += line.length;
    }
    return lines;
  }
}
