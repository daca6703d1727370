/**
 * `npm run report -- [--since 7d|2026-11-01] [--until …] [--json]`: what the answer records
 * say about a period — answer rate, votes, and the questions the bot could not answer or that
 * were voted down, grouped by similarity with links to their threads. Reads RAG_DATA_DIR/app.db
 * (the running bot may keep writing meanwhile). Exit codes: 0 done, 2 usage or bad input.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { PeriodError, parsePeriod } from '../records/period.js';
import { loadPseudonymKey } from '../records/pseudonyms.js';
import { buildReport, formatReport } from '../records/report.js';
import { DEFAULT_SIMILARITY } from '../records/similarity.js';
import { RecordStore } from '../records/store.js';
import { openAppDatabase } from '../state/app-db.js';
import { runCommand } from './run.js';

const USAGE = `Report on the questions the bot could not answer and the answers voted down.

  npm run report -- [options]

Options:
  --since <when>      start of the period: a span back from now (7d, 24h, 2w) or a UTC
                      date (2026-11-01); default 7d
  --until <when>      end of the period, same forms; default now
  --similarity <0-1>  how alike two questions must be to share a group (share of their
                      distinct stemmed words, default ${DEFAULT_SIMILARITY})
  --json              print one JSON object instead of text
  -h, --help          show this help

Records are kept RECORD_DAYS days (default 90) in RAG_DATA_DIR/app.db.`;

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  const parse = () =>
    parseArgs({
      options: {
        since: { type: 'string' },
        until: { type: 'string' },
        similarity: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
    });
  try {
    args = parse();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const threshold =
    args.values.similarity === undefined ? DEFAULT_SIMILARITY : Number(args.values.similarity);
  if (!(threshold > 0 && threshold <= 1)) {
    process.stderr.write('--similarity must be a number above 0 and at most 1, e.g. 0.5.\n');
    return 2;
  }
  let period: { from: number; to: number };
  try {
    period = parsePeriod(args.values.since, args.values.until, Date.now());
  } catch (error) {
    if (!(error instanceof PeriodError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  const config = loadConfig();
  if (config.database) {
    // Every instance's records, whichever host answered.
    const [{ connectPostgres }, { PostgresRecordStore }] = await Promise.all([
      import('../state/postgres.js'),
      import('../records/postgres-store.js'),
    ]);
    const db = await connectPostgres(config.database.url, { maxConnections: config.database.poolSize });
    try {
      const records = await PostgresRecordStore.open(db, config.records.pseudonymSecret);
      const report = await buildReport(records, period, threshold);
      process.stdout.write(args.values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      return 0;
    } finally {
      await db.close();
    }
  }
  const file = join(config.rag.dataDir, 'app.db');
  if (!existsSync(file)) {
    process.stderr.write(
      `No answer records yet: ${file} does not exist. The bot records answers once it runs (npm start).\n`,
    );
    return 2;
  }
  const app = openAppDatabase(config.rag.dataDir);
  try {
    const records = new RecordStore(
      app,
      loadPseudonymKey(config.rag.dataDir, config.records.pseudonymSecret),
    );
    const report = await buildReport(records, period, threshold);
    process.stdout.write(args.values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return 0;
  } finally {
    app.close();
  }
}

runCommand(main);
