/** The period a report covers, from `--since 7d | 24h | 2026-11-01` and an optional `--until`. */

const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

export class PeriodError extends Error {}

/** A moment: a relative span back from `now` ("7d", "24h", "2w") or a date / date-time (UTC). */
export function parseMoment(value: string, now: number, name: string): number {
  const trimmed = value.trim();
  const relative = /^(\d{1,5})\s*([hdw])$/i.exec(trimmed);
  if (relative) return now - Number(relative[1]) * UNIT_MS[relative[2]!.toLowerCase()]!;
  if (/^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?Z?)?$/.test(trimmed)) {
    const iso = trimmed.length === 10 ? `${trimmed}T00:00:00Z` : trimmed.replace(' ', 'T');
    const at = Date.parse(/Z$/.test(iso) ? iso : `${iso}Z`);
    if (!Number.isNaN(at)) return at;
  }
  throw new PeriodError(
    `${name} "${value}" is not a period: use a span back from now (7d, 24h, 2w) or a UTC date (2026-11-01).`,
  );
}

export function parsePeriod(
  since: string | undefined,
  until: string | undefined,
  now: number,
): { from: number; to: number } {
  const from = parseMoment(since ?? '7d', now, '--since');
  const to = until ? parseMoment(until, now, '--until') : now;
  if (from >= to) throw new PeriodError('--since must be before --until.');
  return { from, to };
}
