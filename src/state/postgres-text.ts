/**
 * PostgreSQL's `text` and `jsonb` take every character but NUL (U+0000): a string holding one
 * is refused (`invalid byte sequence for encoding "UTF8": 0x00`, or `unsupported Unicode
 * escape sequence` in JSON), failing the whole statement. Untrusted text can hold one (a PDF's
 * text, a page, a record), so what is written from it goes through these first.
 */
const NUL = '\u0000';

export function pgText(value: string): string;
export function pgText(value: string | undefined): string | undefined;
export function pgText(value: string | undefined): string | undefined {
  return value?.includes(NUL) ? value.replaceAll(NUL, '') : value;
}

/** JSON of `value` with NUL removed from every string and key. */
export function pgJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'string') return pgText(item);
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
    const keys = Object.keys(item);
    if (!keys.some((key) => key.includes(NUL))) return item;
    const clean: Record<string, unknown> = {};
    for (const key of keys) {
      Object.defineProperty(clean, pgText(key), {
        value: (item as Record<string, unknown>)[key],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return clean;
  });
}
