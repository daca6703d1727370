/**
 * Writes test/fixtures/config-characterisation.json from the current `parseConfig`:
 * `npx tsx test/support/write-config-fixture.ts`. Run it only when a configuration message or
 * default is meant to change, and review the fixture's diff: the test exists to catch the rest.
 */
import { writeFileSync } from 'node:fs';
import {
  type ConfigFixture,
  comboEnvironments,
  flatConfig,
  type Outcome,
  outcomeOf,
  PROBES,
  VARIABLES,
} from './config-cases.js';

const defaults = flatConfig({});
const outcomes: Outcome[] = [];
const index = new Map<string, number>();
const record = (outcome: Outcome): number => {
  const key = JSON.stringify(outcome);
  let at = index.get(key);
  if (at === undefined) {
    at = outcomes.push(outcome) - 1;
    index.set(key, at);
  }
  return at;
};

const single: Record<string, number[]> = {};
for (const name of VARIABLES)
  single[name] = PROBES.map((probe) => record(outcomeOf({ [name]: probe }, defaults)));
const combos = comboEnvironments().map((env) => ({ env, outcome: record(outcomeOf(env, defaults)) }));

const fixture: ConfigFixture = { variables: VARIABLES, probes: PROBES, defaults, outcomes, single, combos };
writeFileSync(
  new URL('../fixtures/config-characterisation.json', import.meta.url),
  `${JSON.stringify(fixture, null, 2)}\n`,
);
console.log(`${outcomes.length} distinct outcomes, ${combos.length} combinations`);
