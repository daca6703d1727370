/**
 * A start-up problem the operator can fix: the message is one sentence saying what is wrong
 * and what to do, shown as it is (no stack) when `npm start` or a command cannot start.
 * Front ends throw it from `start()` for credentials refused or a service out of reach.
 */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}
