/**
 * `npm run eval [-- questions.json]`: retrieval quality of the configured store on the eval
 * set. The local store is indexed from knowledge/ first if it is empty; an Upstash index is
 * evaluated as it is (ingest knowledge/ into it first).
 */
import { resolve } from 'node:path';
import { openStore } from '../app/runtime.js';
import { loadConfig } from '../config.js';
import { evaluate, formatReport, loadEvalSet } from '../eval/evaluate.js';
import { ingestPaths } from '../ingest/pipeline.js';
import { runCommand } from './run.js';

async function main(): Promise<number> {
  const path = resolve(process.argv[2] ?? 'eval/questions.json');
  try {
    const config = loadConfig();
    const store = await openStore(config);
    if (!config.upstash && (await store.stats()).vectorCount === 0) {
      await ingestPaths(store, [config.rag.knowledgeDir]);
    }
    const questions = await loadEvalSet(path);
    const report = await evaluate(store, questions, {
      k: config.rag.topK,
      ...(config.rag.minScore !== undefined ? { minScore: config.rag.minScore } : {}),
    });
    process.stdout.write(formatReport(report, store.description));
    return 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stderr.write(`No eval set at ${path}.\n`);
      return 2;
    }
    throw error;
  }
}

runCommand(main);
