/**
 * Configuration from the environment (and `.env` via dotenv), validated once with every
 * problem reported together. Error messages name variables and never echo their values.
 *
 * Each area declares its own variables beside its code (a `settings.ts` built from
 * `src/settings/variables.ts`); this module only lists the areas and composes them. A new
 * platform or connector adds its settings module and one line to `AREAS`.
 */
import { existsSync } from 'node:fs';
import { config as loadDotenv } from 'dotenv';
import * as v from 'valibot';
import { attachmentSettings } from './conversation/settings.js';
import { ragSettings } from './core/settings.js';
import { groqSettings } from './generators/settings.js';
import { httpSettings } from './http/settings.js';
import { ingestSettings } from './ingest/settings.js';
import { knowledgeSettings } from './knowledge/settings.js';
import { opsSettings } from './ops/settings.js';
import { discordSettings } from './platforms/discord/settings.js';
import { slackSettings } from './platforms/slack/settings.js';
import { recordsSettings } from './records/settings.js';
import type { SettingsArea, SliceOf } from './settings/area.js';
import { databaseSettings } from './state/settings.js';
import { upstashSettings } from './stores/settings.js';
import { webSettings } from './web/settings.js';

export type { SlackConfig, SlackOAuthConfig } from './platforms/slack/settings.js';

/** Every area's settings, in the order their problems are reported. */
const AREAS = [
  groqSettings,
  upstashSettings,
  ragSettings,
  ingestSettings,
  attachmentSettings,
  discordSettings,
  slackSettings,
  httpSettings,
  knowledgeSettings,
  webSettings,
  databaseSettings,
  opsSettings,
  recordsSettings,
] as const;

type Slices<TAreas extends readonly unknown[]> = TAreas extends readonly [infer First, ...infer Rest]
  ? SliceOf<First> & Slices<Rest>
  : unknown;

/** The whole configuration: every area's slice side by side. */
export type Config = Slices<typeof AREAS>;

/** An area as the composition sees it: any variables, any slice. */
type AnyArea = SettingsArea<v.ObjectEntries, object>;
const areas: readonly AnyArea[] = AREAS as unknown as readonly AnyArea[];

/** Every variable the bot reads, in `.env.example` order. */
export const CONFIG_VARIABLES: readonly string[] = areas.flatMap((area) => Object.keys(area.variables));

/** Variables holding secrets: never log or echo these. */
export const SECRET_VARIABLES: readonly string[] = areas.flatMap((area) => area.secrets ?? []);

/** Thrown with every configuration problem at once; `message` is safe to print. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Configuration problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Loads `.env` into `process.env` (existing variables win) unless RAG_DOTENV=off, which
 * tests set so they never read a developer's real credentials.
 */
export function loadDotenvFile(path = '.env'): void {
  if (process.env.RAG_DOTENV === 'off' || !existsSync(path)) return;
  loadDotenv({ path, quiet: true });
}

/** Each area's variables, validated as one object so every field problem is reported. */
const schemas = areas.map((area) => v.object(area.variables));

/** Validates an environment; throws `ConfigError` listing every problem. */
export function parseConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const set = (name: string): boolean => (source[name] ?? '').trim() !== '';
  const fieldProblems: string[] = [];
  const slices: object[] = [];
  areas.forEach((area, i) => {
    // Every variable is read, set or not, so each one's schema decides what unset means.
    const variables = Object.fromEntries(Object.keys(area.variables).map((name) => [name, source[name]]));
    const result = v.safeParse(schemas[i]!, variables);
    if (result.success) slices.push(area.build(result.output));
    else
      fieldProblems.push(
        ...result.issues.map((issue) => `${v.getDotPath(issue) || 'environment'} ${issue.message}`),
      );
  });
  // Rules spanning several variables come after every field problem, as they always have.
  const problems = [...fieldProblems, ...areas.flatMap((area) => area.problems?.(set) ?? [])];
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
  return Object.assign({}, ...slices) as Config;
}

/** `.env` + environment → validated config. The one entry point for programs. */
export function loadConfig(): Config {
  loadDotenvFile();
  return parseConfig(process.env);
}
