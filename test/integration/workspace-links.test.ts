/**
 * Links to Slack messages: built from the workspace's URL, asked of Slack (auth.test, through
 * the real Web API client against the fake) at most once per workspace, and not at all when
 * the installation stored it.
 */
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageLink, WorkspaceUrls } from '../../src/platforms/slack/workspace-links.js';
import { type FakeSlack, startFakeSlack } from '../fakes/slack/index.js';

let slack: FakeSlack;
let client: WebClient;
beforeAll(async () => {
  slack = await startFakeSlack();
  client = new WebClient(slack.token, { slackApiUrl: slack.apiURL, retryConfig: { retries: 0 } });
});
afterAll(() => slack.close());

describe('messageLink', () => {
  it('is the permalink Slack gives for the message', () => {
    expect(messageLink('https://fake.slack.com/', 'C0123', '1700000001.000100')).toBe(
      slack.permalink('C0123', '1700000001.000100'),
    );
  });
});

describe('WorkspaceUrls', () => {
  it('asks Slack once per workspace for an installation that did not store its URL', async () => {
    const urls = new WorkspaceUrls({ stored: async () => undefined });
    const before = slack.callsTo('auth.test').length;
    const answers = await Promise.all([
      urls.urlFor('T0001', client),
      urls.urlFor('T0001', client),
      urls.urlFor('T0001', client),
    ]);
    expect(answers).toEqual([
      'https://fake.slack.com/',
      'https://fake.slack.com/',
      'https://fake.slack.com/',
    ]);
    expect(await urls.urlFor('T0001', client)).toBe('https://fake.slack.com/');
    expect(slack.callsTo('auth.test').length - before).toBe(1);
  });

  it('uses the stored URL, or the one workspace’s, without asking', async () => {
    const before = slack.callsTo('auth.test').length;
    const stored = new WorkspaceUrls({ stored: async (team) => `https://${team.toLowerCase()}.slack.com/` });
    expect(await stored.urlFor('T0ALPHA', client)).toBe('https://t0alpha.slack.com/');
    const single = new WorkspaceUrls();
    single.setSingle('https://only.slack.com/');
    expect(await single.urlFor(undefined, client)).toBe('https://only.slack.com/');
    expect(slack.callsTo('auth.test').length).toBe(before);
  });

  it('tries again next time when Slack could not be asked', async () => {
    const broken = new WebClient(slack.token, {
      slackApiUrl: 'http://127.0.0.1:9/api/',
      retryConfig: { retries: 0 },
    });
    const urls = new WorkspaceUrls();
    expect(await urls.urlFor('T0001', broken)).toBeUndefined();
    expect(await urls.urlFor('T0001', client)).toBe('https://fake.slack.com/');
  });
});
