/**
 * `npm run bench [-- suite…]`: runs every suite in bench/suites against loopback fakes,
 * prints one table and writes it to bench/results.md. Suites are measured one at a time
 * so they do not compete for the two cores.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchRow, BenchSuite } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));

function isSuite(value: unknown): value is BenchSuite {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as BenchSuite).name === 'string' &&
    typeof (value as BenchSuite).run === 'function'
  );
}

async function loadSuites(only: readonly string[]): Promise<BenchSuite[]> {
  const dir = join(here, 'suites');
  const files = (await readdir(dir)).filter((file) => file.endsWith('.ts')).sort();
  const suites: BenchSuite[] = [];
  for (const file of files) {
    const name = basename(file, '.ts');
    if (only.length > 0 && !only.includes(name)) continue;
    const module: { default?: unknown } = await import(pathToFileURL(join(dir, file)).href);
    if (!isSuite(module.default)) throw new Error(`bench/suites/${file} must default-export a BenchSuite`);
    suites.push(module.default);
  }
  return suites;
}

function table(rows: readonly BenchRow[]): string {
  const header = ['suite', 'metric', 'value', 'target', 'ok'];
  const body = rows.map((row) => [
    row.suite,
    row.metric,
    row.value,
    row.target ?? '',
    row.pass === undefined ? '' : row.pass ? 'yes' : 'NO',
  ]);
  const widths = header.map((_, i) => Math.max(header[i]!.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const suites = await loadSuites(only);
  if (suites.length === 0) {
    console.error(`No benchmark suite matches ${only.join(', ')}.`);
    process.exitCode = 2;
    return;
  }
  const rows: BenchRow[] = [];
  for (const suite of suites) {
    process.stderr.write(`running ${suite.name}…\n`);
    try {
      rows.push(...(await suite.run()));
    } catch (error) {
      rows.push({ suite: suite.name, metric: 'error', value: (error as Error).message, pass: false });
    }
  }
  const rendered = table(rows);
  console.log(rendered);
  const machine = `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const markdown = [
    '# Benchmark results',
    '',
    `Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)} (${machine}), against the loopback fakes in test/fakes.`,
    'Overheads subtract the latency the fakes inject, so they measure this code, not the network.',
    'Rows marked NO are explained in docs/benchmarks.md.',
    '',
    rendered,
    '',
  ].join('\n');
  if (only.length === 0) await writeFile(join(here, 'results.md'), markdown);
  else process.stderr.write('(bench/results.md is written only by a full run)\n');
  if (rows.some((row) => row.pass === false)) process.exitCode = 1;
}

await main();
