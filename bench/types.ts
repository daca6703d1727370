/** One line of the benchmark table: a measured value against the target. */
export interface BenchRow {
  readonly suite: string;
  readonly metric: string;
  readonly value: string;
  readonly target?: string;
  /** Whether the value meets the target; undefined when there is no target. */
  readonly pass?: boolean;
}

/** A benchmark suite: runs against loopback fakes only, bounded in time. */
export interface BenchSuite {
  readonly name: string;
  run(): Promise<BenchRow[]>;
}
