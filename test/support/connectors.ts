/**
 * Every connector's fake with some knowledge in it, for the end-to-end suites: a Git host
 * (git http-backend) with a docs folder, GitHub with a closed issue, Notion with a page and
 * Confluence with a space. Each source has a question only it answers, the link its answer
 * must cite, and a change that makes the answer (and its citation) different.
 */
import { type FakeConfluence, startFakeConfluence } from '../fakes/confluence/index.js';
import { type FakeGitHost, startFakeGitHost } from '../fakes/git/index.js';
import { type FakeGitHub, startFakeGitHub } from '../fakes/github/index.js';
import { type FakeNotion, startFakeNotion, text } from '../fakes/notion/index.js';

export interface ConnectorCase {
  readonly kind: 'git' | 'github' | 'notion' | 'confluence';
  /** What to add with `/kb add` or `npm run ingest`. */
  readonly url: string;
  readonly collection: string;
  readonly question: string;
  /** The answer's citation before and after `change()`. */
  citation(): string;
  readonly changedQuestion: string;
  changedCitation(): string;
  change(): Promise<void>;
}

export interface Connectors {
  readonly git: FakeGitHost;
  readonly github: FakeGitHub;
  readonly notion: FakeNotion;
  readonly confluence: FakeConfluence;
  /** The variables pointing the bot at the fakes, with their tokens. */
  readonly env: Record<string, string>;
  readonly cases: readonly ConnectorCase[];
  close(): Promise<void>;
}

const NOTION_PAGE = 'b'.repeat(32);

export async function startConnectors(): Promise<Connectors> {
  const [git, github, notion, confluence] = await Promise.all([
    startFakeGitHost(),
    startFakeGitHub({ now: Date.now }),
    startFakeNotion({ now: Date.now }),
    startFakeConfluence(),
  ]);
  await git.createRepo('acme/handbook');
  let commit = await git.commit('acme/handbook', {
    'docs/deploy.md':
      '# Deploying\n\n## Canary\n\nEvery deploy starts with the plinkett canary for ten minutes.\n',
  });

  github.setTokens(['ghp_e2e_token']);
  github.repo('acme/widgets').issues.push({
    number: 42,
    title: 'Sprocket jams after the firmware update',
    body: 'The sprocket jams after updating to firmware 3.',
    state: 'closed',
    updated_at: '2026-02-01T00:00:00Z',
    comments: [{ body: 'Fixed: re-seat the sprocket and hold reset for the quibbit count of three.' }],
  });

  notion.setToken('ntn_e2e_token');
  notion.pages.set(NOTION_PAGE, {
    id: NOTION_PAGE,
    title: 'Travel policy',
    last_edited_time: '2026-02-01T00:00:00.000Z',
    blocks: [
      {
        id: 'c'.repeat(32),
        type: 'paragraph',
        paragraph: { rich_text: text('Book flights through the zephyrine portal.') },
      },
    ],
  });

  confluence.setCredentials('bot@acme.example', 'atl_e2e_token');
  confluence.space('OPS').push({
    id: '700',
    title: 'Backups',
    version: 1,
    storage: '<p>Backups run nightly to the grommet vault at two.</p>',
  });

  const cases: ConnectorCase[] = [
    {
      kind: 'git',
      url: `${git.url}/acme/handbook/tree/main/docs`,
      collection: 'repo',
      question: 'How long does the plinkett canary run?',
      citation: () => `${git.url}/acme/handbook/blob/${commit}/docs/deploy.md#canary`,
      changedQuestion: 'Which canary runs first, the snorkel canary?',
      changedCitation: () => `${git.url}/acme/handbook/blob/${commit}/docs/deploy.md#snorkel-canary`,
      async change() {
        commit = await git.commit('acme/handbook', {
          'docs/deploy.md':
            '# Deploying\n\n## Snorkel canary\n\nEvery deploy starts with the snorkel canary for five minutes.\n',
        });
      },
    },
    {
      kind: 'github',
      url: 'https://github.com/acme/widgets/issues',
      collection: 'issues',
      question: 'How do I fix a sprocket that jams after the firmware update?',
      citation: () => 'https://github.com/acme/widgets/issues/42',
      changedQuestion: 'What does the gearbox whine mean?',
      changedCitation: () => 'https://github.com/acme/widgets/issues/43',
      async change() {
        github.repo('acme/widgets').issues.push({
          number: 43,
          title: 'Gearbox whine',
          body: 'The gearbox whines at speed.',
          state: 'closed',
          updated_at: '2026-02-05T00:00:00Z',
          comments: [{ body: 'A gearbox whine means the flumox bearing needs grease.' }],
        });
      },
    },
    {
      kind: 'notion',
      url: `https://www.notion.so/acme/Travel-policy-${NOTION_PAGE}`,
      collection: 'notion',
      question: 'How do I book flights through the zephyrine portal?',
      citation: () => `https://www.notion.so/Travel-policy-${NOTION_PAGE}`,
      changedQuestion: 'How do I book trains with the wobblet desk?',
      changedCitation: () => `https://www.notion.so/Travel-policy-${NOTION_PAGE}`,
      async change() {
        Object.assign(notion.pages.get(NOTION_PAGE)!, {
          last_edited_time: '2026-02-09T00:00:00.000Z',
          blocks: [
            {
              id: 'd'.repeat(32),
              type: 'paragraph',
              paragraph: { rich_text: text('Book trains with the wobblet desk.') },
            },
          ],
        });
      },
    },
    {
      kind: 'confluence',
      url: `${confluence.base}/spaces/OPS/overview`,
      collection: 'wiki',
      question: 'When do backups run to the grommet vault?',
      citation: () => `${confluence.base}/spaces/OPS/pages/700/Backups`,
      changedQuestion: 'Where do restores land, the fizzgig bucket?',
      changedCitation: () => `${confluence.base}/spaces/OPS/pages/701/Restores`,
      async change() {
        confluence.space('OPS').push({
          id: '701',
          title: 'Restores',
          version: 1,
          storage: '<p>Restores land in the fizzgig bucket first.</p>',
        });
      },
    },
  ];

  return {
    git,
    github,
    notion,
    confluence,
    env: {
      GITHUB_API_URL: github.url,
      GITHUB_TOKEN: 'ghp_e2e_token',
      NOTION_API_URL: notion.url,
      NOTION_TOKEN: 'ntn_e2e_token',
      CONFLUENCE_URL: confluence.base,
      CONFLUENCE_EMAIL: 'bot@acme.example',
      CONFLUENCE_TOKEN: 'atl_e2e_token',
    },
    cases,
    close: async () => {
      await Promise.all([git.close(), github.close(), notion.close(), confluence.close()]);
    },
  };
}
