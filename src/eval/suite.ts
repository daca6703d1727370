/**
 * Every figure `npm run eval` reports, on throw-away local stores:
 *   - our set over knowledge/ (eval/questions.json): retrieval and refusals;
 *   - documentation of packages in node_modules (eval/docs, eval/docs-questions.json): retrieval,
 *     and for offline answers the right file shown, the answer's pattern and refusals, and for
 *     the prompt a model would get, the pattern in its passages;
 *   - the same figures on documentation of other packages whose questions were written blind and
 *     that no setting was chosen on (eval/docs-holdout, eval/docs-holdout-questions.json), when
 *     present;
 *   - follow-ups over both (eval/follow-ups.json): the rule-based rewrite against the
 *     alternatives;
 *   - the SQuAD 2.0 sample, when present (../shared/eval-data/squad2 or --squad): held out by
 *     article (src/eval/held-out.ts), and at the shipped floor.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingestPaths } from '../ingest/pipeline.js';
import { LocalStore } from '../stores/local/index.js';
import { type AnswerReport, evaluateAnswers } from './answers.js';
import { collectOutcomes, type EvalQuestion, type EvalReport, loadEvalSet, summarize } from './evaluate.js';
import { evaluateFollowUps, type FollowUpReport, loadFollowUps } from './follow-ups.js';
import { type HeldOutReport, heldOut } from './held-out.js';
import { loadSquadSets } from './squad.js';

export interface SuiteOptions {
  /** The repository: knowledge/ and eval/ are read from here. */
  readonly root: string;
  /** The SQuAD 2.0 sample folder (with corpus/); skipped when absent. */
  readonly squadDir?: string;
  readonly topK: number;
  readonly contextTokens: number;
  /** Overrides the store's own floor (RAG_MIN_SCORE). */
  readonly minScore?: number;
}

export interface DocsResults {
  readonly retrieval: EvalReport;
  readonly answers: AnswerReport;
  /** The offline answers matching the pattern, by package, the packages split in two halves. */
  readonly halves: readonly PackageHalf[];
}

/** Packages taken alternately in alphabetical order, and their answerable questions. */
export interface PackageHalf {
  readonly packages: readonly string[];
  readonly answerable: number;
  readonly answerMatches: number;
}

export interface SuiteResults {
  readonly floor: number;
  readonly ours: EvalReport;
  readonly docs: DocsResults;
  /** The held-out documentation set, when eval/docs-holdout is present. */
  readonly holdout?: DocsResults;
  readonly followUps: FollowUpReport;
  readonly squad?: {
    readonly heldOut: HeldOutReport;
    /** The whole sample at the store's floor. */
    readonly shipped: EvalReport;
    /** SQuAD's adversarial unanswerable questions refused at the store's floor. */
    readonly impossibleRefused?: number;
    /** Answerable questions through the core at the store's floor: does the prompt (the offline answer) hold a human answer? */
    readonly answers?: AnswerReport;
  };
}

interface Indexed {
  readonly store: LocalStore;
  readonly close: () => Promise<void>;
}

/** `folder` indexed into a throw-away store, sources named relative to `cwd`. */
async function index(paths: readonly string[], cwd: string): Promise<Indexed> {
  const dir = await mkdtemp(join(tmpdir(), 'rag-eval-'));
  const store = await LocalStore.open({ dir });
  await ingestPaths(store, paths, { cwd });
  return {
    store,
    close: async () => {
      store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function runSuite(options: SuiteOptions): Promise<SuiteResults> {
  const { root, topK: k } = options;
  const knowledge = await index([join(root, 'knowledge')], root);
  const docsFolder = join(root, 'eval/docs');
  const docs = await index([docsFolder], docsFolder);
  try {
    const floor = options.minScore ?? knowledge.store.defaultMinScore;
    const oursSet = await loadEvalSet(join(root, 'eval/questions.json'));
    const ours = summarize(oursSet, await collectOutcomes(knowledge.store, oursSet, k), {
      k,
      minScore: floor,
    });
    const docsResults = await evaluateDocs(
      docs.store,
      join(root, 'eval/docs-questions.json'),
      options,
      floor,
    );
    const holdoutFolder = join(root, 'eval/docs-holdout');
    const holdoutQuestions = join(root, 'eval/docs-holdout-questions.json');
    let holdout: DocsResults | undefined;
    if (existsSync(holdoutFolder) && existsSync(holdoutQuestions)) {
      const indexed = await index([holdoutFolder], holdoutFolder);
      try {
        holdout = await evaluateDocs(indexed.store, holdoutQuestions, options, floor);
      } finally {
        await indexed.close();
      }
    }
    const followUps = await evaluateFollowUps(
      { knowledge: knowledge.store, docs: docs.store },
      await loadFollowUps(join(root, 'eval/follow-ups.json')),
      k,
      floor,
    );
    const squad = options.squadDir
      ? await runSquad(options.squadDir, k, floor, options.contextTokens)
      : undefined;
    return {
      floor,
      ours,
      docs: docsResults,
      ...(holdout ? { holdout } : {}),
      followUps,
      ...(squad ? { squad } : {}),
    };
  } finally {
    await knowledge.close();
    await docs.close();
  }
}

/** A documentation set's retrieval and offline-answer figures. */
async function evaluateDocs(
  store: LocalStore,
  questionsFile: string,
  options: SuiteOptions,
  floor: number,
): Promise<DocsResults> {
  const set = await loadEvalSet(questionsFile);
  const k = options.topK;
  const answers = await evaluateAnswers(store, set, {
    topK: k,
    contextTokens: options.contextTokens,
    minScore: floor,
  });
  return {
    retrieval: summarize(set, await collectOutcomes(store, set, k), { k, minScore: floor }),
    answers,
    halves: packageHalves(set, answers),
  };
}

/**
 * The offline answers of two halves of the packages (alternately in alphabetical order, a
 * package being the first folder of a question's expected file): a rule of the answerer that
 * helps one half and costs the other was fitted to some packages' wording.
 */
export function packageHalves(set: readonly EvalQuestion[], answers: AnswerReport): PackageHalf[] {
  const packageOf = (item: EvalQuestion) => item.expected[0]?.source.split('/')[0];
  const packages = [...new Set(set.map(packageOf).filter((name) => name !== undefined))].sort();
  return [0, 1].map((half) => {
    const mine = new Set(packages.filter((_, i) => i % 2 === half));
    const outcomes = answers.outcomes.filter((_, i) => mine.has(packageOf(set[i]!) ?? ''));
    return {
      packages: [...mine],
      answerable: outcomes.length,
      answerMatches: outcomes.filter((o) => o.answerMatches).length,
    };
  });
}

async function runSquad(squadDir: string, k: number, floor: number, contextTokens: number) {
  const corpus = join(squadDir, 'corpus');
  if (!existsSync(corpus)) return undefined;
  // The sample's own questions, so any sample in its layout is measured, not only the bundled one.
  const { main: set, impossible } = await loadSquadSets(squadDir);
  const indexed = await index([corpus], corpus);
  try {
    const outcomes = await collectOutcomes(indexed.store, set, k);
    let impossibleRefused: number | undefined;
    if (impossible.length > 0) {
      const refused = summarize(impossible, await collectOutcomes(indexed.store, impossible, k), {
        k,
        minScore: floor,
      });
      impossibleRefused = refused.rejectedUnanswerable;
    }
    // Articles' paragraphs answer in a few words: a human answer in the prompt is the passage found.
    const withAnswers = set.filter((item) => item.expected.length > 0 && item.answer !== undefined);
    const answers =
      withAnswers.length > 0
        ? await evaluateAnswers(indexed.store, withAnswers, { topK: k, contextTokens, minScore: floor })
        : undefined;
    return {
      heldOut: heldOut(set, outcomes, k),
      shipped: summarize(set, outcomes, { k, minScore: floor }),
      ...(impossibleRefused !== undefined ? { impossibleRefused } : {}),
      ...(answers ? { answers } : {}),
    };
  } finally {
    await indexed.close();
  }
}

const pct = (value: number) => `${(value * 100).toFixed(1)}%`;

/** "78 answerable (58 how-to) + 16": what a documentation set holds. */
function describe(set: DocsResults): string {
  const howTo = set.answers.outcomes.filter((o) => o.kind === 'how-to').length;
  return `${set.answers.answerable} answerable (${howTo} how-to) + ${set.answers.unanswerable}`;
}

/** A documentation set's table, and the questions it missed. */
function formatDocs(heading: string, set: DocsResults): string[] {
  const { retrieval, answers } = set;
  const lines = [
    heading,
    '',
    '| recall@3 | right file shown | offline answer has the pattern | prompt passages have the pattern | prompt tokens (mean) | answerable wrongly refused | out-of-base refused |',
    '|---|---|---|---|---|---|---|',
    `| ${pct(retrieval.recallAtK)} | ${pct(answers.rightFile)} | ${pct(answers.answerMatches)} | ${pct(answers.promptMatches)} | ${Math.round(answers.meanPromptTokens)} | ${pct(answers.wronglyRefused)} | ${pct(answers.refused)} |`,
    '',
    `Offline answer has the pattern, by package half (alternately in alphabetical order): ${set.halves
      .map(
        (half) =>
          `${half.packages.join(', ')}: ${half.answerMatches} of ${half.answerable} (${pct(half.answerable > 0 ? half.answerMatches / half.answerable : 0)})`,
      )
      .join('; ')}.`,
    '',
  ];
  const missed = answers.outcomes.filter((o) => o.answerable && (!o.answerMatches || !o.rightFile));
  if (missed.length > 0) {
    lines.push('Offline answers missing the pattern or the file:');
    for (const o of missed)
      lines.push(
        `  - ${o.question}${o.refused ? ' (refused)' : ''}${o.rightFile ? '' : ' [file]'}${o.answerMatches ? '' : ' [answer]'}${o.promptMatches ? '' : ' [prompt]'}`,
      );
    lines.push('');
  }
  const wrongOut = answers.outcomes.filter((o) => !o.answerable && !o.refused);
  if (wrongOut.length > 0) {
    lines.push('Not in the docs, but answered:');
    for (const o of wrongOut) lines.push(`  - ${o.question}`);
    lines.push('');
  }
  return lines;
}

export function formatSuite(results: SuiteResults): string {
  const lines: string[] = [];
  const { ours, docs, followUps, squad } = results;
  lines.push(
    `Relevance floor: ${results.floor}`,
    '',
    `## Our set (eval/questions.json over knowledge/): ${ours.answerable} answerable + ${ours.unanswerable} not in the knowledge base`,
    '',
    '| recall@1 | recall@3 | MRR | out-of-base refused | answerable wrongly refused |',
    '|---|---|---|---|---|',
    `| ${pct(ours.recallAt1)} | ${pct(ours.recallAtK)} | ${ours.mrr.toFixed(3)} | ${pct(ours.rejectedUnanswerable)} | ${pct(ours.rejectedAnswerable)} |`,
    '',
  );
  lines.push(
    ...formatDocs(
      `## Package documentation (eval/docs-questions.json over eval/docs): ${describe(docs)} not in the docs`,
      docs,
    ),
  );
  if (results.holdout)
    lines.push(
      ...formatDocs(
        `## Held-out package documentation (eval/docs-holdout-questions.json over eval/docs-holdout, questions written blind, no setting chosen on it): ${describe(results.holdout)} not in the docs`,
        results.holdout,
      ),
    );
  lines.push(
    `## Follow-ups (eval/follow-ups.json): ${followUps.pairs} pairs, right passage in the top 3 and over the floor`,
    '',
    '| rule-based rewrite | follow-up as asked | glued to the previous question |',
    '|---|---|---|',
    `| ${pct(followUps.found.rewrite)} | ${pct(followUps.found['as asked'])} | ${pct(followUps.found.glued)} |`,
    '',
  );
  for (const miss of followUps.misses)
    lines.push(`  - "${miss.followUp}" after "${miss.previous}" → "${miss.query}"`);
  if (followUps.misses.length > 0) lines.push('');
  if (squad) {
    const { heldOut: held, shipped } = squad;
    lines.push(
      `## SQuAD 2.0 sample, held out by article: the floor calibrated on one half (at most 3% of its answerable questions refused), every figure measured on the other`,
      '',
      '| measured on | floor (from the other half) | recall@1 | recall@3 | MRR | out-of-base refused | answerable wrongly refused |',
      '|---|---|---|---|---|---|---|',
    );
    for (const fold of held.folds) {
      lines.push(
        `| ${fold.articles.join(', ')} | ${fold.floor.toFixed(3)} | ${pct(fold.recallAt1)} | ${pct(fold.recallAt3)} | ${fold.mrr.toFixed(3)} | ${pct(fold.refused)} | ${pct(fold.wronglyRefused)} |`,
      );
    }
    const [a, b] = held.folds;
    const spread = (f: (fold: typeof a) => number) => `${(Math.abs(f(a) - f(b)) * 100).toFixed(1)} pt`;
    lines.push(
      `| both halves, each held out | | ${pct(held.pooled.recallAt1)} | ${pct(held.pooled.recallAt3)} | ${held.pooled.mrr.toFixed(3)} | ${pct(held.pooled.refused)} | ${pct(held.pooled.wronglyRefused)} |`,
      `| spread between the halves | ${Math.abs(a.floor - b.floor).toFixed(3)} | ${spread((f) => f.recallAt1)} | ${spread((f) => f.recallAt3)} | ${Math.abs(a.mrr - b.mrr).toFixed(3)} | ${spread((f) => f.refused)} | ${spread((f) => f.wronglyRefused)} |`,
      '',
      `At the shipped floor (${results.floor}) on the whole sample: recall@3 ${pct(shipped.recallAtK)}, out-of-base refused ${pct(shipped.rejectedUnanswerable)}, answerable wrongly refused ${pct(shipped.rejectedAnswerable)}; the same rule on the whole sample gives ${held.wholeSetFloor.toFixed(3)}.${squad.impossibleRefused !== undefined ? ` SQuAD's adversarial unanswerable questions refused: ${pct(squad.impossibleRefused)}.` : ''}`,
      '',
    );
    if (squad.answers) {
      const a = squad.answers;
      lines.push(
        `Answerable questions through the core at the shipped floor (${a.answerable}): the prompt a model would get holds a human answer ${pct(a.promptMatches)}, the offline answer ${pct(a.answerMatches)}, at ${Math.round(a.meanPromptTokens)} prompt tokens (mean).`,
        '',
      );
    }
  } else {
    lines.push(
      'SQuAD 2.0 sample not found (pass --squad <folder>): its held-out figures are not measured.',
      '',
    );
  }
  return `${lines.join('\n')}`;
}

function docsJson({ retrieval, answers, halves }: DocsResults): Record<string, unknown> {
  return {
    halves,
    answerable: answers.answerable,
    unanswerable: answers.unanswerable,
    recallAt3: retrieval.recallAtK,
    rightFile: answers.rightFile,
    answerMatches: answers.answerMatches,
    promptMatches: answers.promptMatches,
    meanPromptTokens: answers.meanPromptTokens,
    wronglyRefused: answers.wronglyRefused,
    refused: answers.refused,
  };
}

/** Fractions 0–1, for `--json`. */
export function suiteJson(results: SuiteResults): Record<string, unknown> {
  const { ours, docs, followUps, squad } = results;
  return {
    floor: results.floor,
    ours: {
      answerable: ours.answerable,
      unanswerable: ours.unanswerable,
      recallAt3: ours.recallAtK,
      mrr: ours.mrr,
      rejectedUnanswerable: ours.rejectedUnanswerable,
      rejectedAnswerable: ours.rejectedAnswerable,
    },
    docs: docsJson(docs),
    ...(results.holdout ? { holdout: docsJson(results.holdout) } : {}),
    followUps: { pairs: followUps.pairs, ...followUps.found },
    ...(squad
      ? {
          squad: {
            folds: squad.heldOut.folds,
            heldOut: squad.heldOut.pooled,
            wholeSetFloor: squad.heldOut.wholeSetFloor,
            shipped: {
              recallAt3: squad.shipped.recallAtK,
              rejectedUnanswerable: squad.shipped.rejectedUnanswerable,
              rejectedAnswerable: squad.shipped.rejectedAnswerable,
            },
            ...(squad.impossibleRefused !== undefined ? { impossibleRefused: squad.impossibleRefused } : {}),
            ...(squad.answers
              ? {
                  answers: {
                    answerable: squad.answers.answerable,
                    promptMatches: squad.answers.promptMatches,
                    answerMatches: squad.answers.answerMatches,
                    meanPromptTokens: squad.answers.meanPromptTokens,
                  },
                }
              : {}),
          },
        }
      : {}),
  };
}
