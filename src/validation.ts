/**
 * Shared pieces for valibot schemas of JSON we receive (requests from the page, Slack events):
 * a wrong type or a missing key reads "must be a string, not a number" / "…, not missing".
 */
import * as v from 'valibot';

/** How a JSON value's type is named in messages. */
function typeName(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Message for a value of the wrong type (a missing key is `undefined`). */
export const expected =
  (type: string) =>
  (issue: v.BaseIssue<unknown>): string =>
    `must be ${/^[aeio]/.test(type) ? 'an' : 'a'} ${type}, not ${typeName(issue.input)}`;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const OPTIONAL_TYPES: ReadonlySet<string> = new Set(['optional', 'exact_optional', 'nullish']);

/**
 * A JSON object (an array is not one) read by `schema`. A missing required key is presented as
 * `undefined`, so its own entry's message reports it (valibot's object would report a missing
 * key in its own words); optional keys stay absent when not sent.
 */
export function jsonObject<const TEntries extends v.ObjectEntries>(
  schema: v.ObjectSchema<TEntries, undefined>,
) {
  const unset = Object.fromEntries(
    Object.entries(schema.entries)
      .filter(([, entry]) => !OPTIONAL_TYPES.has(entry.type))
      .map(([key]) => [key, undefined]),
  );
  return v.pipe(
    v.custom<Record<string, unknown>>(isObject, expected('object')),
    v.transform((input) => ({ ...unset, ...input })),
    schema,
  );
}
