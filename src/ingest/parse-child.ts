/**
 * A parser process (see `parse-pool.ts`): runs the jobs its parent sends, one at a time, and
 * sends each result back. It holds no secret (its environment is empty) and ends with its
 * parent: when the channel closes, it exits.
 */
import { type JobResponse, type ParseJob, runJob } from './parse-jobs.js';

/**
 * Sends the response; a result that cannot be copied to the parent (serializing it overflowed
 * the stack) goes back as a document too complex to read, rather than ending the process
 * with the parent told only that the reader stopped.
 */
function reply(response: JobResponse): void {
  try {
    process.send?.(response);
  } catch (error) {
    process.send?.({
      ok: false,
      problem: 'too_large',
      message: `too large or complex: what it holds cannot be passed on (${(error as Error).message})`,
    } satisfies JobResponse);
  }
}

process.on('message', (job: ParseJob) => {
  void runJob(job).then(reply);
});
process.on('disconnect', () => process.exit(0));
