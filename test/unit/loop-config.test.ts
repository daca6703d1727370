import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';
import { feedbackRow } from '../../src/platforms/discord/format.js';
import { feedbackBlock } from '../../src/platforms/slack/format.js';
import { ROOT } from '../e2e/cli.js';

const problems = (env: NodeJS.ProcessEnv): readonly string[] => {
  try {
    parseConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
};

describe('closing-the-loop configuration', () => {
  it('keeps records 90 days with their text, a weekly digest nowhere, and no group to ping by default', () => {
    const config = parseConfig({});
    expect(config.records).toEqual({ days: 90, keepText: true });
    expect(config.digest).toEqual({ schedule: 'weekly' });
  });

  it('reads the switches, ids and schedule', () => {
    const config = parseConfig({
      RECORD_DAYS: '30',
      RECORD_TEXT: 'false',
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 's',
      DISCORD_TOKEN: 't',
      DISCORD_APPLICATION_ID: '1100000000000000111',
      ESCALATION_SLACK_GROUP: 'S0HELPERS',
      ESCALATION_DISCORD_ROLE: '1100000000000000888',
      DIGEST_SLACK_CHANNEL: 'C0DIGEST',
      DIGEST_DISCORD_CHANNEL: '1100000000000000444',
      DIGEST_SCHEDULE: 'Daily',
    });
    expect(config.records).toEqual({ days: 30, keepText: false });
    expect(config.slack?.escalationGroup).toBe('S0HELPERS');
    expect(config.discord?.escalationRole).toBe('1100000000000000888');
    expect(config.digest).toEqual({
      schedule: 'daily',
      slackChannel: 'C0DIGEST',
      discordChannel: '1100000000000000444',
    });
  });

  it('names every wrong value and every id set without its platform, all at once', () => {
    const found = problems({
      RECORD_DAYS: '0',
      RECORD_TEXT: 'maybe',
      ESCALATION_SLACK_GROUP: '@helpers',
      ESCALATION_DISCORD_ROLE: 'helpers',
      DIGEST_SLACK_CHANNEL: 'C0DIGEST',
      DIGEST_SCHEDULE: 'hourly',
    });
    expect(found.join('\n')).toMatch(/RECORD_DAYS must be at least 1/);
    expect(found.join('\n')).toMatch(/RECORD_TEXT must be true or false/);
    expect(found.join('\n')).toMatch(/ESCALATION_SLACK_GROUP must be a Slack user group id/);
    expect(found.join('\n')).toMatch(/ESCALATION_DISCORD_ROLE must be a numeric role id/);
    expect(found.join('\n')).toMatch(/DIGEST_SCHEDULE must be weekly, daily or off/);
    expect(found).toContain('DIGEST_SLACK_CHANNEL needs SLACK_BOT_TOKEN: the bot posts there as itself');
  });

  it('documents every new variable in .env.example', () => {
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    for (const name of [
      'RECORD_DAYS',
      'RECORD_TEXT',
      'ESCALATION_SLACK_GROUP',
      'ESCALATION_DISCORD_ROLE',
      'DIGEST_SLACK_CHANNEL',
      'DIGEST_DISCORD_CHANNEL',
      'DIGEST_SCHEDULE',
    ]) {
      expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
    }
  });
});

describe('the Ask a human button', () => {
  it('is shown only when asked for, beside the votes, on both platforms', () => {
    expect(JSON.stringify(feedbackBlock('q1'))).not.toContain('ask_a_human');
    expect(JSON.stringify(feedbackBlock('q1', { askHuman: true }))).toContain(
      '"action_id":"ask_a_human","text"',
    );
    expect(JSON.stringify(feedbackRow('q1').toJSON())).not.toContain('ask_a_human');
    expect(JSON.stringify(feedbackRow('q1', { askHuman: true }).toJSON())).toContain(
      '"custom_id":"ask_a_human:q1"',
    );
  });
});
