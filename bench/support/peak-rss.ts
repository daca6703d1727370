/**
 * Preloaded (`node --import`) into a command the bench measures: at exit, writes the process's
 * peak resident memory in bytes to the file named by BENCH_PEAK_RSS_FILE.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_PEAK_RSS_FILE;
if (file) {
  process.on('exit', () => {
    writeFileSync(file, String(process.resourceUsage().maxRSS * 1024));
  });
}
