import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluate, loadEvalSet } from '../../src/eval/evaluate.js';
import { ingestPaths } from '../../src/ingest/pipeline.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { ROOT } from '../e2e/cli.js';

let dir: string | undefined;
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

describe('retrieval quality of the embedded store on the eval set', () => {
  it('finds the right source in the top 3 for at least 90% of questions, refuses most unanswerable ones and few answerable ones', async () => {
    dir = await mkdtemp(join(tmpdir(), 'rag-eval-'));
    const store = await LocalStore.open({ dir });
    await ingestPaths(store, [join(ROOT, 'knowledge')], { cwd: ROOT });
    const report = await evaluate(store, await loadEvalSet(join(ROOT, 'eval/questions.json')), { k: 3 });
    expect(report.answerable).toBeGreaterThanOrEqual(40);
    // Floors sit just under the measured values (eval/RESULTS.md), so a regression fails here.
    expect(report.recallAtK).toBeGreaterThanOrEqual(0.9);
    expect(report.mrr).toBeGreaterThanOrEqual(0.85);
    expect(report.rejectedUnanswerable).toBeGreaterThanOrEqual(0.66);
    expect(report.rejectedAnswerable).toBeLessThanOrEqual(0.12);
    store.close();
  });
});
