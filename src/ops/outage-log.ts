/**
 * Remembers whether a shared service (Redis, PostgreSQL) is failing for one purpose, so an
 * outage is logged when it starts and when it ends, not once per question.
 */
import type { Logger } from '../log.js';

export class OutageLog {
  private down = false;

  constructor(
    private readonly log: Logger,
    private readonly service: string,
    private readonly what: string,
  ) {}

  failed(error: unknown): void {
    if (this.down) return;
    this.down = true;
    this.log.warn(
      { err: error },
      `${this.service} unavailable for ${this.what}; using this instance's memory until it is back`,
    );
  }

  worked(): void {
    if (!this.down) return;
    this.down = false;
    this.log.info(`${this.service} is back; ${this.what} shared again`);
  }
}
