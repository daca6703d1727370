/**
 * Files the bot keeps in RAG_DATA_DIR that it cannot use (damaged, locked, unreadable): each
 * error's message names the file, what it holds and what to do, so start-up prints it alone,
 * without a stack trace or a generic "start-up failed".
 */
import { PseudonymKeyError } from '../records/pseudonyms.js';
import { LocalStoreError } from '../stores/local/errors.js';
import { AppDatabaseError } from './app-db.js';

export function isFileProblem(error: unknown): error is Error {
  return (
    error instanceof LocalStoreError ||
    error instanceof AppDatabaseError ||
    error instanceof PseudonymKeyError
  );
}
