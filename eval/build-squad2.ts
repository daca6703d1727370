/**
 * Turns the SQuAD 2.0 sample (../shared/eval-data/squad2, see its README) into eval sets in
 * this project's format, with sources named as `npm run eval -- … --corpus <its corpus folder>`
 * names them (relative to that folder):
 *   eval/squad2.json             answerable questions + questions about articles not ingested,
 *                                each with the article it is about (for held-out folds); an
 *                                answerable one carries its human answers as a pattern, so the
 *                                eval can tell whether the prompt and the offline answer hold one
 *   eval/squad2-impossible.json  SQuAD's adversarial questions: they look answerable by one
 *                                paragraph, which does not hold the answer (reported, no target)
 * `npm run eval` reads the sample's own questions.json (src/eval/squad.ts); these files are the same
 * questions as a portable set for `npm run eval -- eval/squad2.json --corpus <its corpus>`.
 * Usage: npx tsx eval/build-squad2.ts [path/to/squad2]
 */
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSquadSets } from '../src/eval/squad.js';

const here = dirname(fileURLToPath(import.meta.url));
const squad = resolve(process.argv[2] ?? join(here, '../../shared/eval-data/squad2'));
const { main, impossible } = await loadSquadSets(squad);

await writeFile(join(here, 'squad2.json'), `${JSON.stringify(main, null, 2)}\n`);
await writeFile(join(here, 'squad2-impossible.json'), `${JSON.stringify(impossible, null, 2)}\n`);
console.log(`eval/squad2.json: ${main.length} questions; eval/squad2-impossible.json: ${impossible.length}`);
