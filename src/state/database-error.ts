/** The database is unreachable, refuses us, or a statement failed; the message is for people. */
export class DatabaseError extends Error {
  override readonly name = 'DatabaseError';
}
