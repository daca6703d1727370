import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, SECRET_VARIABLES } from '../../src/config.js';
import { type ConfigFixture, flatConfig, outcomeOf } from '../support/config-cases.js';

/** Recorded from the single-file schema before the variables moved beside their areas. */
const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/config-characterisation.json', import.meta.url), 'utf8'),
) as ConfigFixture;

const sorted = (list: readonly string[]) => [...list].sort();

describe('configuration, characterised value by value', () => {
  it('keeps every default', () => {
    expect(flatConfig({})).toEqual(fixture.defaults);
  });

  it('reads each variable set alone as it always has: the same values, the same messages', () => {
    const mismatches: string[] = [];
    for (const name of fixture.variables) {
      fixture.probes.forEach((probe, i) => {
        const expected = fixture.outcomes[fixture.single[name]![i]!]!;
        const actual = outcomeOf({ [name]: probe }, fixture.defaults);
        if (JSON.stringify(actual) !== JSON.stringify(expected)) {
          mismatches.push(
            `${name}=${JSON.stringify(probe)}: ${JSON.stringify(actual)} ≠ ${JSON.stringify(expected)}`,
          );
        }
      });
    }
    expect(mismatches).toEqual([]);
  });

  it('reports the same problems for combinations, cross-field rules included', () => {
    const mismatches: string[] = [];
    for (const { env, outcome } of fixture.combos) {
      const expected = fixture.outcomes[outcome]!;
      const actual = outcomeOf(env, fixture.defaults);
      // Problems are grouped by area now, so a combination's may come in another order.
      const same =
        'problems' in expected && 'problems' in actual
          ? JSON.stringify(sorted(actual.problems)) === JSON.stringify(sorted(expected.problems))
          : JSON.stringify(actual) === JSON.stringify(expected);
      if (!same)
        mismatches.push(`${JSON.stringify(env)}: ${JSON.stringify(actual)} ≠ ${JSON.stringify(expected)}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('keeps every secret variable out of logs', () => {
    expect(sorted(SECRET_VARIABLES)).toEqual(
      sorted([
        'GROQ_API_KEY',
        'UPSTASH_VECTOR_REST_TOKEN',
        'DISCORD_TOKEN',
        'SLACK_BOT_TOKEN',
        'SLACK_SIGNING_SECRET',
        'SLACK_APP_TOKEN',
        'SLACK_CLIENT_SECRET',
        'SLACK_STATE_SECRET',
        'SLACK_INSTALLATION_KEY',
        'REDIS_URL',
        'WEB_CHAT_TOKEN',
        'RECORD_PSEUDONYM_SECRET',
        'GIT_TOKEN',
        'GIT_HOST_TOKENS',
        'GITHUB_TOKEN',
        'NOTION_TOKEN',
        'CONFLUENCE_TOKEN',
        // Added since the characterisation was recorded: PostgreSQL's URL carries a password.
        'DATABASE_URL',
      ]),
    );
  });

  it('prints the problems one per line under one heading', () => {
    let error: unknown;
    try {
      parseConfig({ PORT: 'x', UPSTASH_VECTOR_REST_TOKEN: 't' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      `Configuration problems:\n${(error as ConfigError).problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  });
});
