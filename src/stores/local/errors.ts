/** The local store cannot be opened, imported or written; the message says how to recover. */
export class LocalStoreError extends Error {
  override readonly name = 'LocalStoreError';
}
