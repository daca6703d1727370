/**
 * What a conversation's files became when they were read, so a follow-up in the same thread
 * neither downloads nor parses them again: keyed by conversation, file id and size (a file
 * edited in place gets a new size, hence a new entry). Bounded in memory: least recently used
 * entries go first past a byte budget, and an entry unused for `ttlMs` expires. Kept in the
 * process: another instance, or a restart, reads the file once more.
 */
import type { AttachedFile } from './attachments.js';

/**
 * A file as read: its text, or why it gave none. Only what the file itself is gets cached
 * (text, unreadable, past a document limit); download failures, budget stops and a reader
 * that failed are tried again (`failed` and budget stops are never stored).
 */
export type ReadFile =
  | { readonly kind: 'text'; readonly text: string; readonly truncated: boolean }
  | { readonly kind: 'unreadable'; readonly reason: string }
  | { readonly kind: 'too_complex'; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string };

export interface ReadFileCache {
  get(key: string): ReadFile | undefined;
  set(key: string, value: ReadFile): void;
}

/** The cache key of `file` in the conversation `scope`; undefined when the platform gives no id. */
export function readFileKey(scope: string, file: Pick<AttachedFile, 'id' | 'size'>): string | undefined {
  return file.id ? `${scope}\u0000${file.id}\u0000${file.size ?? '?'}` : undefined;
}

export interface CacheOptions {
  /** Memory the cached text may take, in bytes (JavaScript strings: two bytes a character at most). */
  readonly maxBytes: number;
  /** An entry not used for this long is dropped. */
  readonly ttlMs: number;
  readonly now?: () => number;
}

export const DEFAULT_CACHE_OPTIONS: CacheOptions = { maxBytes: 32 * 1_048_576, ttlMs: 24 * 60 * 60 * 1000 };

interface Entry {
  readonly value: ReadFile;
  readonly bytes: number;
  usedAt: number;
}

const sizeOf = (key: string, value: ReadFile) =>
  2 * (key.length + (value.kind === 'text' ? value.text.length : value.reason.length)) + 64;

export class LruReadFileCache implements ReadFileCache {
  /** Insertion order is recency order: a used entry is moved to the end. */
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private readonly now: () => number;

  constructor(private readonly options: CacheOptions = DEFAULT_CACHE_OPTIONS) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  get usedBytes(): number {
    return this.bytes;
  }

  get(key: string): ReadFile | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.now() - entry.usedAt > this.options.ttlMs) {
      this.delete(key, entry);
      return undefined;
    }
    entry.usedAt = this.now();
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: ReadFile): void {
    const old = this.entries.get(key);
    if (old) this.delete(key, old);
    const bytes = sizeOf(key, value);
    if (bytes > this.options.maxBytes) return;
    this.entries.set(key, { value, bytes, usedAt: this.now() });
    this.bytes += bytes;
    this.evict();
  }

  private delete(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }

  private evict(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      const expired = now - entry.usedAt > this.options.ttlMs;
      if (!expired && this.bytes <= this.options.maxBytes) break;
      this.delete(key, entry);
    }
  }
}
