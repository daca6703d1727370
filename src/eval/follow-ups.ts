/**
 * Follow-up evaluation: a question asked after another in the same conversation ("and how do I
 * remove it?" after "How do I add the bot to Slack?"). Without a model, the follow-up is
 * rewritten by rules (src/generators/follow-up.ts); the rewrite should retrieve the passage that
 * answers it, in the top k and over the relevance floor. Measured against two simple alternatives: the follow-up as asked, and the follow-up
 * glued to the previous question.
 */
import { readFile } from 'node:fs/promises';
import type { Retriever } from '../core/types.js';
import { rewriteFollowUp } from '../generators/follow-up.js';
import { EvalSetError, type ExpectedSource } from './evaluate.js';

export interface FollowUp {
  /** Which folder the conversation is about: `knowledge` (the bundled one) or `docs` (eval/docs). */
  readonly corpus: string;
  /** The user's earlier questions, oldest first. */
  readonly history: readonly string[];
  readonly followUp: string;
  readonly expected: readonly ExpectedSource[];
  /** A regular expression (case-insensitive) the right passage's text matches. */
  readonly passage: string;
}

export type FollowUpStrategy = 'rewrite' | 'as asked' | 'glued';

export interface FollowUpReport {
  readonly pairs: number;
  /** Share of follow-ups whose right passage is in the top k, per strategy. */
  readonly found: Readonly<Record<FollowUpStrategy, number>>;
  readonly misses: readonly {
    readonly followUp: string;
    readonly previous: string;
    readonly query: string;
  }[];
}

export async function loadFollowUps(path: string): Promise<FollowUp[]> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown;
  if (!Array.isArray(parsed)) throw new EvalSetError(`${path} must hold a JSON array of follow-ups.`);
  parsed.forEach((item: Partial<FollowUp> | null, i) => {
    const ok =
      item !== null &&
      typeof item === 'object' &&
      typeof item.corpus === 'string' &&
      Array.isArray(item.history) &&
      item.history.length > 0 &&
      item.history.every((turn) => typeof turn === 'string') &&
      typeof item.followUp === 'string' &&
      Array.isArray(item.expected) &&
      item.expected.length > 0 &&
      typeof item.passage === 'string';
    if (!ok) {
      throw new EvalSetError(
        `Entry ${i + 1} of ${path} needs "corpus", "history" (earlier questions), "followUp", "expected" and "passage".`,
      );
    }
  });
  return parsed as FollowUp[];
}

/** The query each strategy retrieves with. */
export function followUpQuery(item: FollowUp, strategy: FollowUpStrategy): string {
  const previous = item.history.at(-1);
  if (strategy === 'as asked') return item.followUp;
  if (strategy === 'glued') return `${previous ?? ''} ${item.followUp}`.trim();
  return rewriteFollowUp(item.followUp, previous);
}

export async function evaluateFollowUps(
  retrievers: Readonly<Record<string, Retriever>>,
  items: readonly FollowUp[],
  k = 3,
  minScore?: number,
): Promise<FollowUpReport> {
  const strategies: FollowUpStrategy[] = ['rewrite', 'as asked', 'glued'];
  const hits: Record<FollowUpStrategy, number> = { rewrite: 0, 'as asked': 0, glued: 0 };
  const misses: { followUp: string; previous: string; query: string }[] = [];
  for (const item of items) {
    const retriever = retrievers[item.corpus];
    if (!retriever)
      throw new EvalSetError(`No corpus "${item.corpus}" for the follow-up "${item.followUp}".`);
    const pattern = new RegExp(item.passage, 'i');
    for (const strategy of strategies) {
      const query = followUpQuery(item, strategy);
      const found = await retriever.search(query, { topK: k });
      // Found means usable: in the top k and over the floor, so the answer is given from it.
      const right = found.some(
        (passage) =>
          passage.score >= (minScore ?? retriever.defaultMinScore) &&
          item.expected.some((expected) => expected.source === passage.source) &&
          pattern.test(passage.text),
      );
      if (right) hits[strategy] += 1;
      else if (strategy === 'rewrite')
        misses.push({ followUp: item.followUp, previous: item.history.at(-1) ?? '', query });
    }
  }
  const share = (count: number) => (items.length > 0 ? count / items.length : 0);
  return {
    pairs: items.length,
    found: { rewrite: share(hits.rewrite), 'as asked': share(hits['as asked']), glued: share(hits.glued) },
    misses,
  };
}
