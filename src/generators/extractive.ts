/**
 * The offline answerer: no model, just the parts of the retrieved passages that best match the
 * question, each cited. It is the embedded default (no GROQ_API_KEY) and the degraded answer
 * when Groq is unavailable, so it always says plainly what it is.
 *
 * A passage is read as Markdown (src/text/markdown-blocks.ts) into the units a reader would
 * quote: sentences of prose, a code block with the sentence that introduces it, a list of steps
 * with its introduction, a table's rows. A question asking how to do something prefers a unit
 * that shows how (code, steps) over prose, and over a block that only lists modules to import.
 * Code is quoted whole, as a fenced block; steps whole and in order; a sentence ending in ":"
 * never without what it introduces.
 */
import { citationNumbers } from '../core/sources.js';
import type { GenerationChunk, GenerationRequest, Generator, Passage } from '../core/types.js';
import { terms } from '../stores/local/terms.js';
import { fence } from '../text/fence.js';
import { type Block, markdownBlocks } from '../text/markdown-blocks.js';
import { sentences } from '../text/sentences.js';
import { rewriteFollowUp } from './follow-up.js';

export const OFFLINE_LABEL =
  '_Offline answer: the most relevant passages from the knowledge base, quoted without an AI model. Set GROQ_API_KEY for written answers._';
export const DEGRADED_LABEL =
  '_Groq is unavailable right now, so here are the most relevant passages from the knowledge base instead of a written answer._';

type UnitKind = 'sentence' | 'item' | 'code' | 'steps' | 'row';

/** Something a passage says that can be quoted on its own. */
interface Unit {
  readonly kind: UnitKind;
  /** Index of the passage in the request. */
  readonly passage: number;
  /** Position within the passage, to keep document order among equals. */
  readonly order: number;
  /** The introduction quoted before a code block or steps ('' when none). */
  readonly lead: string;
  /** What is quoted: a sentence, a fenced block, list items, a table row. */
  readonly body: string;
  /** For a table row: the header it is read under. */
  readonly header?: string;
  /** The terms the unit is found by. */
  readonly terms: ReadonlySet<string>;
  /** The terms of the section it is in, which it is about without saying so. */
  readonly section: ReadonlySet<string>;
  /** A code block that only imports modules ("require('x')" lines): shows what, not how. */
  readonly importsOnly: boolean;
}

/** The share of a question term's weight a unit gets for being in the section that names it. */
const SECTION_CREDIT = 0.5;

/** The weight of code and steps for a question that does not ask how to do something. */
const CODE_FOR_FACTS = 0.6;

/** Quoting more than this many sentences stops being an answer. */
const MAX_SENTENCES = 6;
/** Longest table quoted, in rows. */
const MAX_ROWS = 4;

/** How a question asking how to do something starts, or what it asks for. */
const HOW_TO_START =
  /^\s*(?:how\s+(?:do|can|could|should|would|to|does|is|are|may)\b|what(?:'s|\s+is)\s+the\s+(?:command|syntax|code|way)\b|which\s+(?:command|option|flag|method|function)\b|show\s+me\b|give\s+me\s+an?\s+example\b)/i;
const HOW_TO_WORDS =
  /\b(?:example|snippet|command|syntax|install|configure|set\s*up|usage|use|call|write|run|create|enable|register|connect|load|import)\b/i;

export function asksHowTo(question: string): boolean {
  return HOW_TO_START.test(question) || HOW_TO_WORDS.test(question);
}

/** Lines that only bring a module in: `import x from 'y'`, `const x = require('y')`, `use y;`. */
function importsOnly(code: string): boolean {
  const lines = code.split('\n').filter((line) => line.trim() !== '');
  if (lines.length < 2) return false;
  const imports = lines.filter((line) => {
    const trimmed = line.trim();
    return (
      trimmed.startsWith('import ') ||
      trimmed.startsWith('from ') ||
      trimmed.startsWith('use ') ||
      trimmed.startsWith('#include') ||
      trimmed.startsWith('using ') ||
      (trimmed.includes('require(') && trimmed.length < 90 && !trimmed.includes(').'))
    );
  });
  return imports.length >= lines.length * 0.7;
}

/** Punctuation around a word that is not part of it: sentence marks, quotes, brackets. */
const AROUND = new Set([...'?!,.;:()[]{}"\'“”‘’<>']);

/** Whitespace- and backtick-separated words, lower-cased, without the punctuation around them. */
function words(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/[\s`]+/)) {
    let start = 0;
    let end = raw.length;
    while (start < end && AROUND.has(raw[start]!)) start++;
    while (end > start && AROUND.has(raw[end - 1]!)) end--;
    if (end > start) out.push(raw.slice(start, end).toLowerCase());
  }
  return out;
}

const WORD_CHAR = /^[\p{L}\p{N}'-]$/u;

/**
 * What a question writes as code or a value rather than in words: `^1.2.3`, `a.b=c`, `%h`,
 * `jwt.decode`, `*.js`. Split into terms, such a token matches every unit holding its parts
 * (`^1.2.3-beta.2` holds 1, 2 and 3); written whole, it names exactly what is asked about.
 */
export function literalsOf(question: string): string[] {
  return [
    ...new Set(
      words(question).filter((word) => word.length >= 2 && [...word].some((char) => !WORD_CHAR.test(char))),
    ),
  ];
}

function endsWithColon(text: string): boolean {
  return text.trimEnd().endsWith(':');
}

/**
 * What a document is called: its file name without the extension, or for a README or index
 * file, its folder's name (`ioredis/README.md` is ioredis, `pino/pretty.md` is pretty).
 */
export function documentName(source: string): string {
  const parts = source.split(/[/\\]/).filter((part) => part !== '');
  const file = parts.at(-1) ?? '';
  const dot = file.lastIndexOf('.');
  const stem = dot > 0 ? file.slice(0, dot) : file;
  const generic = ['readme', 'index'].includes(stem.toLowerCase());
  return generic && parts.length > 1 ? (parts.at(-2) ?? '') : stem;
}

/** The section a passage is part of (a long section is cut into several passages): document and heading path. */
function sectionKey(passage: Passage): string {
  const section =
    typeof passage.metadata.section === 'string' ? passage.metadata.section : (passage.title ?? '');
  return `${passage.source}\u0000${section}`;
}

/** The name of the section a passage is: the last part of its heading path. */
function sectionName(passage: Passage): string {
  const section =
    typeof passage.metadata.section === 'string' ? passage.metadata.section : (passage.title ?? '');
  return section.split(' › ').at(-1) ?? '';
}

/** A list item ending in ":" introduces the code block after the list ("2. Create the logger:"). */
function lastItemIntroduces(list: Extract<Block, { kind: 'list' }>): boolean {
  const last = list.items.at(-1) ?? '';
  return !last.includes('\n') && endsWithColon(last);
}

/** The quotable units of one passage. */
function unitsOf(passage: Passage, index: number): Unit[] {
  const blocks = markdownBlocks(passage.text).filter((block) => block.kind !== 'heading');
  // What the section is called says what its code and steps do, even with no sentence before them.
  const section = new Set(terms(sectionName(passage)));
  const out: Unit[] = [];
  const add = (kind: UnitKind, lead: string, body: string, extra: Partial<Unit> = {}) => {
    const own = terms(`${lead} ${body}`);
    out.push({
      kind,
      passage: index,
      order: out.length,
      lead,
      body,
      terms: new Set(kind === 'code' || kind === 'steps' ? [...own, ...section] : own),
      section,
      importsOnly: false,
      ...extra,
    });
  };
  const prose = (text: string) => {
    for (const sentence of sentences(text)) if (sentence.length >= 3) add('sentence', '', sentence);
  };
  const code = (lead: string, block: Extract<Block, { kind: 'code' }>) =>
    add('code', lead, fence(block.code, block.lang), { importsOnly: importsOnly(block.code) });
  /** A list: numbered steps whole (with the code its last step introduces), bullets one by one. */
  const list = (
    lead: string,
    block: Extract<Block, { kind: 'list' }>,
    following: Block | undefined,
  ): boolean => {
    const withCode = following?.kind === 'code' && lastItemIntroduces(block);
    if (block.ordered || withCode) {
      const body = block.items.join('\n');
      add('steps', lead, withCode ? `${body}\n\n${fence(following.code, following.lang)}` : body);
      return withCode;
    }
    if (lead) prose(lead);
    for (const item of block.items) add('item', '', item);
    return false;
  };
  for (let i = 0; i < blocks.length; i++) {
    const block: Block = blocks[i]!;
    const next = blocks[i + 1];
    if (block.kind === 'paragraph' || block.kind === 'quote') {
      const introduces = next?.kind === 'code' || (next?.kind === 'list' && endsWithColon(block.text));
      if (block.kind === 'paragraph' && introduces && next) {
        // The sentences before the last are prose of their own; the last introduces the block.
        const all = sentences(block.text);
        const lead = all.pop() ?? block.text;
        prose(all.join(' '));
        if (next.kind === 'code') code(lead, next);
        else if (next.kind === 'list' && list(lead, next, blocks[i + 2])) i += 1;
        i += 1;
        continue;
      }
      prose(block.text);
    } else if (block.kind === 'code') code('', block);
    else if (block.kind === 'list') {
      if (list('', block, next)) i += 1;
    } else if (block.kind === 'table') {
      for (const row of block.rows) add('row', '', row, { header: block.header });
    }
  }
  return out;
}

export interface ExtractiveOptions {
  /** First line of every answer, saying what kind of answer this is. */
  readonly label?: string;
  /** Longest answer in characters, beyond the first thing quoted (quoted whole, code included). */
  readonly maxChars?: number;
}

interface Scored extends Unit {
  readonly score: number;
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
    const parts = this.extract(request.question, request.passages, request.deciding);
    yield { type: 'text', text: `${this.label}\n\n` };
    // Parts are separated by a blank line: a list of sentences, then a block, and so on.
    for (const [i, part] of parts.entries()) {
      request.signal?.throwIfAborted();
      yield { type: 'text', text: i === 0 ? part : `\n${part}` };
    }
  }

  /**
   * What answers the question, best first, each cited with its source's number. A unit scores
   * by the question terms it holds, each weighted by how few of the units hold it (the
   * distinctive words of the question matter most), and the same for each of the question's
   * literals (`^1.2.3`) it holds whole, with a small lead for better-ranked passages; for a
   * how-to question, code and steps count more (and also for what their section's prose says),
   * and a block of imports less. Nothing matching: the first sentence of each passage.
   */
  private extract(
    question: string,
    passages: readonly Passage[],
    deciding: ReadonlySet<string> | undefined,
  ): string[] {
    const wanted = new Set(terms(question));
    const numbers = citationNumbers(passages);
    // Numbered as the sources are (all the passages), quoted from those that decided the answer,
    // and from a document the question names when none of its passages decided: asked "which
    // variable prints ioredis debug information?", the ioredis README's passage is quoted beside
    // the debug package's that outscored it.
    const decidingDocuments = new Set(passages.filter((p) => deciding?.has(p.id)).map((p) => p.source));
    const named = new Set(
      passages
        .filter((passage) => !decidingDocuments.has(passage.source))
        .filter((passage) => {
          const name = terms(documentName(passage.source));
          return name.length > 0 && name.every((term) => wanted.has(term));
        })
        .map((passage) => passage.source),
    );
    const quotable = (passage: Passage) =>
      !deciding || deciding.size === 0 || deciding.has(passage.id) || named.has(passage.source);
    const units = passages.flatMap((passage, index) => (quotable(passage) ? unitsOf(passage, index) : []));
    const holding = new Map<string, number>();
    for (const unit of units)
      for (const term of unit.terms) if (wanted.has(term)) holding.set(term, (holding.get(term) ?? 0) + 1);
    const weight = (term: string) => Math.log(1 + units.length / (holding.get(term) ?? 1));
    // A literal of the question found whole in a unit counts as one more term, weighted the same way.
    // A set: a long question's literals are looked up once per word of every unit.
    const literals = new Set(literalsOf(question));
    const literalsIn = new Map<Unit, ReadonlySet<string>>();
    if (literals.size > 0)
      for (const unit of units) {
        const found = new Set(words(`${unit.lead} ${unit.body}`).filter((word) => literals.has(word)));
        if (found.size > 0) literalsIn.set(unit, found);
      }
    const literalHolding = new Map<string, number>();
    for (const found of literalsIn.values())
      for (const literal of found) literalHolding.set(literal, (literalHolding.get(literal) ?? 0) + 1);
    const howTo = asksHowTo(question);
    // The question terms each section's prose says, in any of its passages: what its code and
    // steps do, when the sentence before them does not say it all ("… without blocking the
    // server … A readable stream can be created by calling `scanStream`:").
    const prose = new Map<string, Set<string>>();
    for (const unit of units) {
      if (unit.kind !== 'sentence' && unit.kind !== 'item') continue;
      const key = sectionKey(passages[unit.passage]!);
      const said = prose.get(key) ?? new Set<string>();
      for (const term of unit.terms) if (wanted.has(term)) said.add(term);
      prose.set(key, said);
    }
    const scored: Scored[] = units
      .map((unit) => {
        let score = 0;
        // A sentence in the section named "concurrency" is about concurrency, at half the credit
        // of saying it; for a how-to question, code and steps that match it are about what their
        // section's prose says, at the same half (an unrelated command in the right section,
        // matching nothing itself, is still no answer).
        const shows = unit.kind === 'code' || unit.kind === 'steps';
        for (const term of wanted) {
          if (unit.terms.has(term)) score += weight(term);
          else if (unit.section.has(term)) score += SECTION_CREDIT * weight(term);
        }
        const said = howTo && shows && score > 0 ? prose.get(sectionKey(passages[unit.passage]!)) : undefined;
        for (const term of said ?? [])
          if (!unit.terms.has(term) && !unit.section.has(term)) score += SECTION_CREDIT * weight(term);
        for (const literal of literalsIn.get(unit) ?? [])
          score += Math.log(1 + units.length / (literalHolding.get(literal) ?? 1));
        score *= 1 - 0.1 * Math.min(unit.passage, 5);
        // How-to questions want code and steps; other questions want what prose says (code holds
        // many identifiers that happen to be question words: `{default: PQueue}`).
        if (shows) score *= howTo ? (unit.importsOnly ? 0.6 : 1.6) : CODE_FOR_FACTS;
        return { ...unit, score };
      })
      .filter((unit) => unit.score > 0)
      .sort((a, b) => b.score - a.score || a.passage - b.passage || a.order - b.order);
    // A how-to question is answered by what shows how, when some passage shows it at all.
    const shows = howTo
      ? scored.find((unit) => (unit.kind === 'code' || unit.kind === 'steps') && !unit.importsOnly)
      : undefined;
    const ranked =
      shows && shows !== scored[0] ? [shows, ...scored.filter((unit) => unit !== shows)] : scored;
    const picked =
      ranked.length > 0
        ? ranked
        : units.filter((unit) => unit.order === 0).map((unit) => ({ ...unit, score: 0 }));
    return this.compose(picked, passages, numbers);
  }

  /** The picked units as Markdown: sentences as a list, code and steps as blocks with their lead-in. */
  private compose(
    picked: readonly Scored[],
    passages: readonly Passage[],
    numbers: readonly number[],
  ): string[] {
    const parts: string[] = [];
    let length = 0;
    let sentencesQuoted = 0;
    let bullets: string[] = [];
    const endBullets = () => {
      if (bullets.length > 0) parts.push(`${bullets.join('\n')}\n`);
      bullets = [];
    };
    const cite = (unit: Unit) => `[${numbers[unit.passage] ?? unit.passage + 1}]`;
    const rowsTaken = new Map<string, string[]>();
    for (const unit of picked) {
      const text = this.render(unit, cite(unit), passages[unit.passage]);
      // The first thing quoted is quoted whole (a code block is never cut); then the budget holds.
      if (parts.length + bullets.length > 0 && length + text.length > this.maxChars) {
        if (unit.kind === 'sentence' || unit.kind === 'item') continue;
        break;
      }
      if (unit.kind === 'sentence' || unit.kind === 'item') {
        if (sentencesQuoted >= MAX_SENTENCES) continue;
        sentencesQuoted += 1;
        bullets.push(text);
      } else if (unit.kind === 'row') {
        // Rows of one table are quoted together under its header.
        const key = `${unit.passage}\u0000${unit.header}`;
        const rows = rowsTaken.get(key);
        if (rows) {
          if (rows.length < MAX_ROWS) rows.push(unit.body);
          continue;
        }
        rowsTaken.set(key, [unit.body]);
        endBullets();
        parts.push(key);
      } else {
        endBullets();
        parts.push(`${text}\n`);
      }
      length += text.length;
    }
    endBullets();
    // Tables were held by key until all their rows were known.
    return parts.map((part) => {
      const rows = rowsTaken.get(part);
      if (!rows) return part;
      const [passage, header] = part.split('\u0000');
      const unit = picked.find(
        (u) => u.kind === 'row' && String(u.passage) === passage && u.header === header,
      )!;
      return `${this.from(passages[unit.passage], cite(unit))}\n\n${header}\n${rows.join('\n')}\n`;
    });
  }

  private from(passage: Passage | undefined, citation: string): string {
    const title = passage?.title ?? passage?.source ?? '';
    return `From *${title.replace(/[*_`]/g, '')}* ${citation}:`;
  }

  private render(unit: Unit, citation: string, passage: Passage | undefined): string {
    switch (unit.kind) {
      case 'sentence':
        return `- ${unit.body} ${citation}`;
      case 'item': {
        // The citation ends the item's first line; what is nested under it follows.
        const newline = unit.body.indexOf('\n');
        return newline === -1
          ? `${unit.body} ${citation}`
          : `${unit.body.slice(0, newline)} ${citation}${unit.body.slice(newline)}`;
      }
      case 'row':
        return unit.body;
      default: {
        const lead = unit.lead ? `${unit.lead} ${citation}` : this.from(passage, citation);
        return `${lead}\n\n${unit.body}`;
      }
    }
  }
}
