/**
 * What the Git kind (git.ts) and its reader process (git-child.ts) say to each other. The
 * reader runs isomorphic-git's fetch, tree walk and blob reads, which inflate every object of a
 * pack in memory and hash it synchronously: a small download can hold a gigabyte blob. Its
 * HTTP goes through the parent (the sync's fetch: address guard, time limit, redirects; and
 * the token, which the reader never holds).
 */

export interface ReadJob {
  readonly gitdir: string;
  readonly cloneUrl: string;
  readonly webUrl: string;
  /** The branch or tag, when known (a previous sync's). */
  readonly ref?: string;
  /** The folder or file within the repository, when known. */
  readonly path?: string;
  /** `tree/` segments to split into ref and path against the server's refs (a first sync). */
  readonly refAndPath: readonly string[];
  readonly extensions: readonly string[];
  readonly maxFiles: number;
  readonly maxPacks: number;
}

export interface Listing {
  readonly head: string;
  readonly ref: string;
  readonly path: string;
  readonly files: readonly { readonly path: string; readonly oid: string }[];
  readonly truncated: boolean;
}

/** An error as isomorphic-git (or our HTTP client) raised it, carried across the channel. */
export interface CarriedError {
  readonly message: string;
  readonly code?: string;
  readonly statusCode?: number;
  readonly what?: string;
  /** A refusal with a message to show as it is. */
  readonly source?: boolean;
}

export type ToReader =
  | { readonly type: 'list'; readonly job: ReadJob }
  | { readonly type: 'read'; readonly gitdir: string; readonly oid: string; readonly maxBytes: number }
  | {
      readonly type: 'http-head';
      readonly id: number;
      readonly url: string;
      readonly status: number;
      readonly statusText: string;
      readonly headers: Record<string, string>;
    }
  | { readonly type: 'http-chunk'; readonly id: number; readonly chunk: Uint8Array }
  | { readonly type: 'http-end'; readonly id: number }
  | { readonly type: 'http-error'; readonly id: number; readonly error: CarriedError };

export type FromReader =
  | {
      readonly type: 'http';
      readonly id: number;
      readonly url: string;
      readonly method: string;
      readonly headers: Record<string, string>;
      readonly body?: Uint8Array;
    }
  | { readonly type: 'listed'; readonly listing: Listing }
  | { readonly type: 'blob'; readonly size: number; readonly data?: Uint8Array }
  | { readonly type: 'failed'; readonly error: CarriedError };
