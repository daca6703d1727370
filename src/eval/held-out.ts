/**
 * Held-out evaluation: a set whose questions name their article (SQuAD's) is split into two
 * halves by article, answerable articles and out-of-base articles alike. The relevance floor is
 * calibrated on one half and every figure is measured on the other, then the reverse, so no
 * figure comes from articles the setting was chosen on. The spread between the two folds says
 * how much the figures depend on which articles a knowledge base holds.
 */
import { type EvalQuestion, MRR_DEPTH, type QuestionOutcome } from './evaluate.js';

/** The floor's rule: the highest floor that wrongly refuses at most this share of answerable questions. */
export const CALIBRATION_WRONGLY_REFUSED = 0.03;
const FLOOR_STEP = 0.005;

export interface FoldFigures {
  /** The articles whose questions were measured. */
  readonly articles: readonly string[];
  /** The floor calibrated on the other half. */
  readonly floor: number;
  readonly answerable: number;
  readonly unanswerable: number;
  readonly recallAt1: number;
  readonly recallAt3: number;
  readonly mrr: number;
  /** Out-of-base questions refused. */
  readonly refused: number;
  /** Answerable questions wrongly refused. */
  readonly wronglyRefused: number;
}

export interface HeldOutReport {
  readonly folds: readonly [FoldFigures, FoldFigures];
  /** Both held-out halves together (each measured with the floor of the other half). */
  readonly pooled: Omit<FoldFigures, 'articles' | 'floor'>;
  /** The floor the same rule gives on the whole set. */
  readonly wholeSetFloor: number;
}

/** Splits articles in two, alternating in name order within answerable and out-of-base articles. */
export function articleHalves(questions: readonly EvalQuestion[]): [Set<string>, Set<string>] {
  const answerable = new Set<string>();
  const outOfBase = new Set<string>();
  for (const item of questions) {
    if (!item.article) continue;
    (item.expected.length > 0 ? answerable : outOfBase).add(item.article);
  }
  const halves: [Set<string>, Set<string>] = [new Set(), new Set()];
  for (const [i, article] of [...answerable].sort().entries()) halves[i % 2]!.add(article);
  // Out-of-base articles start on the other half, so the halves stay about the same size.
  for (const [i, article] of [...outOfBase].sort().entries()) halves[(i + 1) % 2]!.add(article);
  return halves;
}

/** The highest floor at which at most `maxWronglyRefused` of the answerable outcomes are refused. */
export function calibrateFloor(
  outcomes: readonly QuestionOutcome[],
  maxWronglyRefused = CALIBRATION_WRONGLY_REFUSED,
): number {
  const scores = outcomes
    .filter((outcome) => outcome.answerable)
    .map((outcome) => outcome.bestScore)
    .sort((a, b) => a - b);
  if (scores.length === 0) return 0;
  // Refusing fewer than `allowed` answerable questions: the floor may rise to the next score up.
  const allowed = Math.floor(scores.length * maxWronglyRefused);
  const limit = scores[allowed] ?? 1;
  // On a grid, so the floor is a round number a person can set in RAG_MIN_SCORE.
  return Math.floor(limit / FLOOR_STEP) * FLOOR_STEP;
}

function figures(
  outcomes: readonly QuestionOutcome[],
  floor: number,
  k: number,
): Omit<FoldFigures, 'articles' | 'floor'> {
  const answerable = outcomes.filter((outcome) => outcome.answerable);
  const unanswerable = outcomes.filter((outcome) => !outcome.answerable);
  const share = (list: readonly QuestionOutcome[], test: (outcome: QuestionOutcome) => boolean) =>
    list.length > 0 ? list.filter(test).length / list.length : 0;
  return {
    answerable: answerable.length,
    unanswerable: unanswerable.length,
    recallAt1: share(answerable, (o) => o.rank === 1),
    recallAt3: share(answerable, (o) => o.rank !== null && o.rank <= k),
    mrr:
      answerable.length > 0
        ? answerable.reduce((sum, o) => sum + (o.rank !== null && o.rank <= MRR_DEPTH ? 1 / o.rank : 0), 0) /
          answerable.length
        : 0,
    refused: share(unanswerable, (o) => o.bestScore < floor),
    wronglyRefused: share(answerable, (o) => o.bestScore < floor),
  };
}

/** Calibrates on each half and measures on the other. Outcomes are in the order of `questions`. */
export function heldOut(
  questions: readonly EvalQuestion[],
  outcomes: readonly QuestionOutcome[],
  k = 3,
  maxWronglyRefused = CALIBRATION_WRONGLY_REFUSED,
): HeldOutReport {
  const halves = articleHalves(questions);
  const inHalf = (half: Set<string>) =>
    outcomes.filter((_, i) => {
      const article = questions[i]?.article;
      return article !== undefined && half.has(article);
    });
  const folds = halves.map((measured, i) => {
    const calibration = halves[1 - i]!;
    const floor = calibrateFloor(inHalf(calibration), maxWronglyRefused);
    return { articles: [...measured].sort(), floor, ...figures(inHalf(measured), floor, k) };
  }) as unknown as [FoldFigures, FoldFigures];
  // Pooled: each half's questions judged by the floor calibrated on the other half.
  const pooledOutcomes = halves.flatMap((half, i) =>
    inHalf(half).map((outcome) => ({ ...outcome, bestScore: outcome.bestScore - folds[i]!.floor })),
  );
  return {
    folds,
    pooled: figures(pooledOutcomes, 0, k),
    wholeSetFloor: calibrateFloor(outcomes, maxWronglyRefused),
  };
}
