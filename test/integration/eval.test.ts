import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluate, loadEvalSet } from '../../src/eval/evaluate.js';
import { articleHalves, calibrateFloor, heldOut } from '../../src/eval/held-out.js';
import { formatSuite, runSuite } from '../../src/eval/suite.js';
import { ingestPaths } from '../../src/ingest/pipeline.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { ROOT, runCli } from '../e2e/cli.js';
import { createTestDatabase, havePostgres } from '../support/postgres.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rag-eval-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

describe('retrieval quality of the embedded store on the eval set', () => {
  it('finds the right source in the top 3 for at least 95% of questions, refuses most unanswerable ones and few answerable ones', async () => {
    const store = await LocalStore.open({ dir: await tempDir() });
    await ingestPaths(store, [join(ROOT, 'knowledge')], { cwd: ROOT });
    const report = await evaluate(store, await loadEvalSet(join(ROOT, 'eval/questions.json')), { k: 3 });
    expect(report.answerable).toBeGreaterThanOrEqual(40);
    // Floors sit just under the measured values (eval/RESULTS.md), so a regression fails here.
    expect(report.recallAtK).toBeGreaterThanOrEqual(0.95);
    expect(report.mrr).toBeGreaterThanOrEqual(0.93);
    expect(report.rejectedUnanswerable).toBeGreaterThanOrEqual(0.66);
    expect(report.rejectedAnswerable).toBeLessThanOrEqual(0.1);
    store.close();
  });
});

describe('npm run eval', () => {
  it('prints one JSON object of fractions with --json', async () => {
    const result = await runCli('src/cli/eval.ts', ['eval/questions.json', '--json'], {
      env: { RAG_DATA_DIR: await tempDir() },
      timeoutMs: 60_000,
    });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Record<string, number>;
    expect(report.answerable).toBe(42);
    expect(report.unanswerable).toBe(6);
    for (const key of ['recallAt1', 'recallAt3', 'mrr', 'rejectedUnanswerable', 'rejectedAnswerable']) {
      expect(report[key]).toBeGreaterThanOrEqual(0);
      expect(report[key]).toBeLessThanOrEqual(1);
    }
  });

  it('indexes a --corpus folder into a throw-away store, sources named inside it, beside the baseline', async () => {
    const corpus = await tempDir();
    await writeFile(
      join(corpus, 'planets.json'),
      JSON.stringify([
        { id: 'mars', text: 'Mars is the fourth planet and has two small moons, Phobos and Deimos.' },
        { id: 'venus', text: 'Venus is the hottest planet because its thick atmosphere traps heat.' },
        { id: 'jupiter', text: 'Jupiter is the largest planet, a gas giant with a great red storm.' },
      ]),
    );
    const set = join(corpus, '..', `${corpus.split('/').at(-1)}-set.json`);
    dirs.push(set);
    await writeFile(
      set,
      JSON.stringify([
        {
          question: 'Which planet has the moons Phobos and Deimos?',
          expected: [{ source: 'planets.json', recordId: 'mars' }],
        },
        { question: 'Why is Venus so hot?', expected: [{ source: 'planets.json', recordId: 'venus' }] },
        { question: 'Who painted the Mona Lisa?', expected: [] },
      ]),
    );
    const result = await runCli('src/cli/eval.ts', [set, '--corpus', corpus, '--baseline', '--json'], {
      timeoutMs: 60_000,
    });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Record<string, number> & { baseline: Record<string, number> };
    expect(report.recallAt1).toBe(1);
    expect(report.rejectedUnanswerable).toBe(1);
    expect(report.rejectedAnswerable).toBe(0);
    expect(report.baseline.recallAt3).toBe(1);
  });

  it.skipIf(!havePostgres)(
    'with DATABASE_URL, measures a throw-away PostgreSQL store over --corpus, with the embedded store’s figures on our set',
    async () => {
      const url = await createTestDatabase('eval');
      const run = (env: Record<string, string>) =>
        runCli('src/cli/eval.ts', ['eval/questions.json', '--corpus', '.', '--json'], {
          env,
          timeoutMs: 90_000,
        });
      const [local, postgres] = await Promise.all([run({}), run({ DATABASE_URL: url })]);
      expect(postgres.code).toBe(0);
      const [a, b] = [JSON.parse(local.stdout), JSON.parse(postgres.stdout)] as Record<string, unknown>[];
      expect(b!.store).toBe('PostgreSQL store over .');
      expect({ ...b, store: '' }).toEqual({ ...a, store: '' });
      expect(b!.answerable).toBe(42);
      const pg = await import('pg');
      const client = new pg.default.Client({ connectionString: url });
      await client.connect();
      const left = await client.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rag_eval%'");
      await client.end();
      expect(left.rows).toEqual([]);
    },
  );

  it('names the entry of a malformed eval set and exits 2', async () => {
    const set = join(await tempDir(), 'bad.json');
    await writeFile(
      set,
      JSON.stringify([{ question: 'Fine?', expected: [] }, { question: 'No expected list' }]),
    );
    const result = await runCli('src/cli/eval.ts', [set]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Entry 2');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('npm run eval on a set with answer patterns', () => {
  it('also answers each question offline through the core and reports the answer figures', async () => {
    const corpus = await tempDir();
    await writeFile(
      join(corpus, 'deploy.md'),
      '# Deploy\n\n## Containers\n\nBuild and run the image:\n\n```sh\ndocker build -t zebra-bot .\ndocker run zebra-bot\n```\n',
    );
    const set = join(corpus, '..', `${corpus.split('/').at(-1)}-answers.json`);
    dirs.push(set);
    await writeFile(
      set,
      JSON.stringify([
        {
          question: 'How do I build and run the zebra-bot image?',
          expected: [{ source: 'deploy.md' }],
          answer: 'docker build -t zebra-bot',
        },
        { question: 'Who painted the Mona Lisa?', expected: [] },
      ]),
    );
    const result = await runCli('src/cli/eval.ts', [set, '--corpus', corpus, '--json'], {
      timeoutMs: 60_000,
    });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { answers: Record<string, number> };
    expect(report.answers).toMatchObject({ rightFile: 1, answerMatches: 1, promptMatches: 1, refused: 1 });
  });
});

/**
 * A SQuAD-layout sample of articles the bundled one lacks: four in the corpus (two answerable
 * questions each), two only asked about, and adversarial questions.
 */
async function tinySquadSample(): Promise<string> {
  const dir = await tempDir();
  const articles: Record<string, string[]> = {
    Lighthouses: [
      'The Eddystone Lighthouse stands on rocks fourteen kilometres south of Rame Head in Cornwall.',
      'Fresnel lenses, invented by Augustin-Jean Fresnel in 1822, let a lighthouse beam reach far out to sea.',
    ],
    Volcanoes: [
      'Mauna Loa on the island of Hawaii is the largest active volcano on Earth by volume.',
      'A pyroclastic flow is a fast current of hot gas and volcanic matter that moves down a slope.',
    ],
    Zeppelins: [
      'Count Ferdinand von Zeppelin flew his first rigid airship, the LZ 1, over Lake Constance in 1900.',
      'The Hindenburg caught fire while docking at Lakehurst, New Jersey, on 6 May 1937.',
    ],
    Glaciers: [
      'The Lambert Glacier in East Antarctica is the largest glacier in the world.',
      'Moraines are ridges of rock debris that a glacier pushes ahead of it or leaves along its sides.',
    ],
  };
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(dir, 'corpus'));
  for (const [article, paragraphs] of Object.entries(articles)) {
    const records = paragraphs.map((text, i) => ({ id: `${article}#${i}`, title: article, text }));
    await writeFile(join(dir, 'corpus', `${article}.json`), JSON.stringify(records));
  }
  const answerable = (article: string, recordId: number, question: string, answer: string) => ({
    question,
    kind: 'answerable',
    file: `${article}.json`,
    recordId: `${article}#${recordId}`,
    answers: [answer],
  });
  const questions = [
    answerable(
      'Lighthouses',
      0,
      'How far south of Rame Head is the Eddystone Lighthouse?',
      'fourteen kilometres',
    ),
    answerable('Lighthouses', 1, 'Who invented the Fresnel lens?', 'Augustin-Jean Fresnel'),
    answerable('Volcanoes', 0, 'Which is the largest active volcano on Earth by volume?', 'Mauna Loa'),
    answerable('Volcanoes', 1, 'What is a pyroclastic flow?', 'a fast current of hot gas'),
    answerable('Zeppelins', 0, 'Where did the LZ 1 airship first fly?', 'Lake Constance'),
    answerable('Zeppelins', 1, 'When did the Hindenburg catch fire at Lakehurst?', '6 May 1937'),
    answerable('Glaciers', 0, 'Which is the largest glacier in the world?', 'Lambert Glacier'),
    answerable('Glaciers', 1, 'What are moraines made of?', 'rock debris'),
    { question: 'How long does sourdough starter take to ferment?', kind: 'out_of_kb', article: 'Sourdough' },
    { question: 'Which flour makes the best sourdough loaf?', kind: 'out_of_kb', article: 'Sourdough' },
    { question: 'What do sea anemones in tide pools eat?', kind: 'out_of_kb', article: 'Tidepools' },
    { question: 'When do tide pools form along rocky shores?', kind: 'out_of_kb', article: 'Tidepools' },
    {
      question: 'Who invented the Eddystone Lighthouse lens in 1900?',
      kind: 'impossible',
      file: 'Lighthouses.json',
      recordId: 'Lighthouses#1',
    },
  ];
  await writeFile(join(dir, 'questions.json'), JSON.stringify(questions));
  return dir;
}

describe('the eval suite (npm run eval)', () => {
  it('refuses a --squad folder that is not a SQuAD sample, saying what it needs', async () => {
    const dir = await tempDir();
    const result = await runCli('src/cli/eval.ts', ['--squad', dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('corpus/ folder and a questions.json');
  });

  it('measures offline answers and prompts on the package docs, and follow-ups, at least as well as recorded', async () => {
    const squadDir = await tinySquadSample();
    const results = await runSuite({ root: ROOT, topK: 3, contextTokens: 6_000, squadDir });
    const { answers } = results.docs;
    expect(answers.answerable).toBeGreaterThanOrEqual(60);
    expect(answers.outcomes.filter((o) => o.kind === 'how-to').length).toBeGreaterThanOrEqual(30);
    expect(answers.unanswerable).toBeGreaterThanOrEqual(15);
    // Floors sit just under the figures in eval/RESULTS.md, so a regression fails here.
    expect(answers.rightFile).toBeGreaterThanOrEqual(0.97);
    expect(answers.answerMatches).toBeGreaterThanOrEqual(0.9);
    // Both halves of the packages (alternately in alphabetical order) are answered alike.
    const { halves } = results.docs;
    expect(halves.map((half) => half.answerable).reduce((a, b) => a + b)).toBe(answers.answerable);
    for (const half of halves) expect(half.answerMatches / half.answerable).toBeGreaterThanOrEqual(0.88);
    expect(answers.promptMatches).toBeGreaterThanOrEqual(0.97);
    expect(answers.refused).toBeGreaterThanOrEqual(0.85);
    expect(answers.wronglyRefused).toBeLessThanOrEqual(0.02);
    // The ten best passages and up to ten more of the deciding documents cost about 4,400 tokens
    // of the 6,000 budget.
    expect(answers.meanPromptTokens).toBeLessThanOrEqual(5_000);
    expect(results.followUps.pairs).toBeGreaterThanOrEqual(30);
    expect(results.followUps.found.rewrite).toBeGreaterThanOrEqual(0.93);
    expect(results.followUps.found.rewrite).toBeGreaterThan(results.followUps.found['as asked']);
    // The held-out documentation set is measured and reported the same way, beside the first.
    const holdout = results.holdout!;
    expect(holdout.answers.answerable).toBeGreaterThanOrEqual(40);
    expect(holdout.answers.unanswerable).toBeGreaterThanOrEqual(10);
    expect(holdout.retrieval.recallAtK).toBeGreaterThanOrEqual(0.9);
    expect(formatSuite(results)).toContain('## Held-out package documentation');
    // Any sample in the SQuAD layout is measured by its own questions, not the bundled one's.
    const squad = results.squad!;
    expect(squad.heldOut.pooled.answerable).toBe(8);
    expect(squad.heldOut.pooled.unanswerable).toBe(4);
    expect(squad.heldOut.pooled.recallAt3).toBe(1);
    expect(squad.impossibleRefused).toBeDefined();
    expect(squad.heldOut.folds.flatMap((fold) => fold.articles).sort()).toEqual([
      'Glaciers',
      'Lighthouses',
      'Sourdough',
      'Tidepools',
      'Volcanoes',
      'Zeppelins',
    ]);
    expect(formatSuite(results)).toContain('| Glaciers, Tidepools, Volcanoes |');
    expect(formatSuite(results)).toContain(
      `${halves[0]!.packages.join(', ')}: ${halves[0]!.answerMatches} of`,
    );
  }, 120_000);
});

describe('held-out evaluation by article', () => {
  const outcome = (answerable: boolean, bestScore: number) => ({
    answerable,
    rank: answerable ? 1 : null,
    bestScore,
  });

  it('never splits an article, and calibrates each half on the other', () => {
    const questions = [
      ...['A1', 'A2', 'A3', 'A4'].flatMap((article) =>
        Array.from({ length: 10 }, () => ({
          question: 'q',
          expected: [{ source: `${article}.json` }],
          article,
        })),
      ),
      ...['O1', 'O2'].flatMap((article) =>
        Array.from({ length: 10 }, () => ({ question: 'q', expected: [], article })),
      ),
    ];
    const [first, second] = articleHalves(questions);
    expect([...first!].sort()).toEqual(['A1', 'A3', 'O2']);
    expect([...second!].sort()).toEqual(['A2', 'A4', 'O1']);
    // Answerable questions of A1/A3 score high, of A2/A4 lower: each half's floor comes from the other.
    const outcomes = questions.map((q, i) =>
      q.expected.length === 0
        ? outcome(false, 0.1)
        : outcome(true, ['A1', 'A3'].includes(q.article) ? 0.8 + (i % 10) / 100 : 0.5 + (i % 10) / 100),
    );
    const report = heldOut(questions, outcomes, 3, 0);
    expect(report.folds[0].floor).toBeCloseTo(0.5, 5);
    expect(report.folds[1].floor).toBeCloseTo(0.8, 5);
    // The second half judged by the first half's floor refuses all its answerable questions.
    expect(report.folds[1].wronglyRefused).toBe(1);
    expect(report.folds[0].wronglyRefused).toBe(0);
    expect(calibrateFloor([outcome(true, 0.3), outcome(true, 0.6), outcome(true, 0.7)], 0.34)).toBeCloseTo(
      0.6,
      5,
    );
  });
});
