/**
 * A parser process (see `parse-pool.ts`): runs the jobs its parent sends, one at a time, and
 * sends each result back. It holds no secret (its environment is empty) and ends with its
 * parent: when the channel closes, it exits.
 */
import { type ParseJob, runJob } from './parse-jobs.js';

process.on('message', (job: ParseJob) => {
  void runJob(job).then((response) => process.send?.(response));
});
process.on('disconnect', () => process.exit(0));
