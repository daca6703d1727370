/**
 * One area's settings: the variables it reads, which of them are secrets, the rules spanning
 * several variables, and the slice of the configuration it builds. Areas declare this beside
 * their code; `src/config.ts` lists them and composes the whole configuration.
 */
import type * as v from 'valibot';

/** Whether a variable is set to something other than blanks, in the raw environment. */
export type IsSet = (name: string) => boolean;

export interface SettingsArea<TEntries extends v.ObjectEntries, TSlice extends object> {
  /** Variable name → schema (see ./variables.ts), in the order `.env.example` lists them. */
  readonly variables: TEntries;
  /** Variables holding secrets: never logged or echoed. */
  readonly secrets?: readonly (keyof TEntries & string)[];
  /**
   * Rules spanning several variables (this area's, or another area's it depends on), checked
   * on the raw environment so they are reported together with every field error.
   */
  readonly problems?: (set: IsSet) => readonly string[];
  /** The area's slice of the configuration, from its validated variables. */
  readonly build: (env: v.InferOutput<v.ObjectSchema<TEntries, undefined>>) => TSlice;
}

/** Declares an area, keeping its variables' types for `build`. */
export const defineSettings = <const TEntries extends v.ObjectEntries, TSlice extends object>(
  area: SettingsArea<TEntries, TSlice>,
): SettingsArea<TEntries, TSlice> => area;

/** The slice of the configuration an area builds. */
export type SliceOf<TArea> = TArea extends { readonly build: (env: never) => infer TSlice } ? TSlice : never;

/** `b is required when a is set (why)`, for two variables that only work together. */
export function pairProblem(set: IsSet, a: string, b: string, why: string): string[] {
  if (set(a) === set(b)) return [];
  return [`${set(a) ? b : a} is required when ${set(a) ? a : b} is set (${why})`];
}

/** `name needs platform: the bot posts there as itself`, for a place the bot posts to. */
export function postsAsBot(set: IsSet, name: string, platform: string): string[] {
  return set(name) && !set(platform) ? [`${name} needs ${platform}: the bot posts there as itself`] : [];
}
