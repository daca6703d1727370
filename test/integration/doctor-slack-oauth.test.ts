import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { runChecks } from '../../src/doctor/checks.js';
import { openInstallationStore } from '../../src/platforms/slack/installations.js';
import { openAppDatabase } from '../../src/state/app-db.js';

const KEY = Buffer.alloc(32, 6).toString('base64');
let dataDir: string;

const config = (key: string) =>
  parseConfig({
    SLACK_CLIENT_ID: '1111111111.2222222222',
    SLACK_CLIENT_SECRET: 'client-secret-value',
    SLACK_STATE_SECRET: 'state-secret-value-0123456789',
    SLACK_INSTALLATION_KEY: key,
    SLACK_SIGNING_SECRET: 'signing-secret-value',
    RAG_DATA_DIR: dataDir,
  });
const slackCheck = async (key: string) =>
  (await runChecks(config(key), 5_000)).find((result) => result.service === 'Slack')!;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'rag-doctor-oauth-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('doctor: Slack installed in any workspace', () => {
  it('says where to install when nothing is installed yet', async () => {
    const result = await slackCheck(KEY);
    expect(result.status).toBe('ok');
    expect(result.detail).toContain('no installation yet');
    expect(result.detail).toContain('/slack/install');
  });

  it('counts the installations and fails clearly when the key cannot open them', async () => {
    const appDb = openAppDatabase(dataDir);
    const store = await openInstallationStore({ installationKey: KEY, appDatabase: () => appDb });
    await store.storeInstallation({
      team: { id: 'T1' },
      enterprise: undefined,
      user: { id: 'U1', token: undefined, scopes: undefined },
      bot: { id: 'B1', userId: 'UB1', token: 'xoxb-T1-token', scopes: ['chat:write'] },
      isEnterpriseInstall: false,
      authVersion: 'v2',
    });
    appDb.close();
    const ok = await slackCheck(KEY);
    expect(ok.status).toBe('ok');
    expect(ok.detail).toContain('1 installation(s)');
    const wrong = await slackCheck(Buffer.alloc(32, 8).toString('base64'));
    expect(wrong.status).toBe('fail');
    expect(wrong.detail).toContain('SLACK_INSTALLATION_KEY cannot open 1 of 1');
    expect(wrong.fix).toContain('SLACK_INSTALLATION_KEY');
  });
});
