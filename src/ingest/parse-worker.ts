/** A parse pool thread: runs one job at a time (see `parse-pool.ts`). */
import { type JobResponse, type ParseJob, runJob } from './parse-jobs.js';

export default function parse(job: ParseJob): Promise<JobResponse> {
  return runJob(job);
}
