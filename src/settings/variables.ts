/**
 * Building blocks for environment variables, shared by every area's settings module: blank
 * means unset, words ignore case, numbers and durations are range-checked, and every message
 * says what the value should be without echoing it. Imports nothing from any area.
 */
import * as v from 'valibot';

/** A blank value means unset, so an `.env` copied from `.env.example` works. */
const unsetIfBlank = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;
/** For words compared case-insensitively (switches, choices): trimmed, lower case, blank unset. */
const unsetIfBlankLowerCase = (value: unknown): unknown =>
  typeof value === 'string' ? value.trim().toLowerCase() || undefined : value;

/** One environment variable: blank values are unset before `schema` sees them. */
export const variable = <S extends v.GenericSchema>(schema: S) =>
  v.pipe(v.unknown(), v.transform(unsetIfBlank), schema);
/** A word variable (case and surrounding spaces do not matter). */
const word = <S extends v.GenericSchema>(schema: S) =>
  v.pipe(v.unknown(), v.transform(unsetIfBlankLowerCase), schema);

export const trimmed = () => v.pipe(v.string(), v.trim());
export const optionalString = variable(v.optional(trimmed()));
/** A text variable with a default when unset. */
export const text = (fallback: string) => variable(v.optional(trimmed(), fallback));
/** A folder, kept as given (a path may end in a space). */
export const folder = (fallback: string) => variable(v.optional(v.string(), fallback));
export const matching = (pattern: RegExp, message: string) =>
  variable(v.optional(v.pipe(trimmed(), v.regex(pattern, message))));
export const atLeastChars = (min: number, message: string) =>
  variable(v.optional(v.pipe(trimmed(), v.minLength(min, message))));

/** The WHATWG parser ignores tabs and newlines inside a URL; so does the value we keep. */
const withoutTabsAndNewlines = (value: string): string => value.replace(/[\t\n\r]/g, '');
export const optionalUrl = (hint: string) => {
  const message = `must be a URL (${hint})`;
  return variable(
    v.optional(
      v.pipe(
        v.string(message),
        v.trim(),
        v.check((value) => URL.canParse(value), message),
        v.transform(withoutTabsAndNewlines),
      ),
    ),
  );
};

/** `Number()` reads ` 5 `, `1e3` and `0x10` as numbers, as the bot always has. */
const toNumber = v.transform((value: unknown) => Number(value));
/** A number in range; `check` and its message say which numbers (whole, or any finite). */
const numberIn = (min: number, max: number, check: (value: number) => boolean, message: string) =>
  v.pipe(
    v.unknown(),
    toNumber,
    v.custom<number>((value) => check(value as number), message),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );
/** Not a whole number stops there (a schema, not a check): `1.5` is one problem. */
export const wholeNumber = (min: number, max: number) =>
  numberIn(min, max, Number.isInteger, 'must be a whole number');
export const int = (fallback: number, min: number, max: number) =>
  variable(v.optional(wholeNumber(min, max), fallback));
export const optionalNumber = (min: number, max: number) =>
  variable(v.optional(numberIn(min, max, Number.isFinite, 'must be a number')));

/** A comma-separated list of ids; unset is an empty list. */
export const idList = variable(
  v.pipe(
    v.optional(v.string()),
    v.transform((value) =>
      value
        ? value
            .split(',')
            .map((id) => id.trim())
            .filter(Boolean)
        : [],
    ),
  ),
);
export const prefixed = (prefix: string, what: string) =>
  variable(v.optional(v.pipe(trimmed(), v.startsWith(prefix, `must be ${what} (starts with "${prefix}")`))));

/** A variable with its own parser (unset included), whose error message is the problem. */
export const parsedBy = <T>(
  parse: (value: string | undefined) => T,
  describe = (message: string) => message,
) =>
  variable(
    v.pipe(
      v.optional(v.string()),
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        try {
          return parse(dataset.value);
        } catch (error) {
          addIssue({ message: describe((error as Error).message) });
          return NEVER;
        }
      }),
    ),
  );

const SWITCH_VALUES = ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'] as const;
const ON_VALUES: ReadonlySet<string> = new Set(['true', '1', 'yes', 'on']);
/** A switch: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, any case; `whenUnset` otherwise. */
const switchedOn = (whenUnset: boolean) =>
  word(
    v.pipe(
      v.optional(v.picklist(SWITCH_VALUES, 'must be true or false')),
      v.transform((value) => (value === undefined ? whenUnset : ON_VALUES.has(value))),
    ),
  );
export const flag = switchedOn(false);
/** A switch that is on unless set to a false value. */
export const flagOn = switchedOn(true);

/** One of a few words, any case. */
export const choice = <const T extends string>(options: readonly [T, ...T[]], fallback: T, message: string) =>
  word(v.optional(v.picklist(options, message), fallback));
/** One of a few exact words. */
export const exactly = <const T extends string>(options: readonly [T, ...T[]], fallback: T) =>
  variable(v.optional(v.picklist(options, `must be one of ${options.join(', ')}`), fallback));

export const snowflake = (what: string) =>
  matching(/^\d{15,25}$/, `must be a numeric ${what} id (a snowflake)`);
export const slackId = (first: string, what: string) =>
  matching(
    new RegExp(`^[${first}][A-Z0-9]{2,}$`),
    `must be a Slack ${what} id (starts with ${first.split('').join(' or ')})`,
  );

const DURATION_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** `6h`, `30m`, `1d`, `90s`; `off`/unset disables. At least a minute. */
export const duration = variable(
  v.pipe(
    v.optional(trimmed()),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const value = dataset.value;
      if (value === undefined || /^(off|false|0|no)$/i.test(value)) return undefined;
      const match = /^(\d+(?:\.\d+)?)\s*([smhd])$/i.exec(value);
      const ms = match ? Number(match[1]) * DURATION_UNITS[match[2]!.toLowerCase()]! : Number.NaN;
      if (!(ms >= 60_000)) {
        addIssue({ message: 'must be a duration of at least a minute, like 6h, 30m or 1d (or off)' });
        return NEVER;
      }
      return ms;
    }),
  ),
);
