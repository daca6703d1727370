/**
 * Discord shows "The application did not respond" to an interaction not answered within 3 s.
 * The check that no other instance took the interaction runs first, against the shared store
 * (Redis or PostgreSQL when scaled out): a store that hangs must not keep the bot from
 * answering. The real discord.js client against the Discord fake, with a store that never
 * answers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRuntime } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config.js';
import type { DedupeStore } from '../../src/ops/shared-state.js';
import { createDiscordAdapter } from '../../src/platforms/discord/index.js';
import type { PlatformAdapter } from '../../src/platforms/types.js';
import { type FakeDiscord, startFakeDiscord } from '../fakes/discord/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { layerOver } from '../support/conversations.js';
import { captureLogs } from '../support/logs.js';
import { waitFor } from '../support/wait.js';

let backends: Backends;
let discord: FakeDiscord;
let adapter: PlatformAdapter;
let dataDir: string;
let checks = 0;

/** A shared store that never answers (a hung Redis), counting the checks it was asked. */
const hung: DedupeStore = {
  firstSeen: () => {
    checks += 1;
    return new Promise<boolean>(() => {});
  },
  forget: async () => {},
};

beforeAll(async () => {
  [backends, discord] = await Promise.all([startBackends(), startFakeDiscord()]);
  dataDir = await mkdtemp(join(tmpdir(), 'rag-discord-hung-'));
  const config = parseConfig({
    ...backends.env,
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiURL,
    RAG_DATA_DIR: dataDir,
  });
  const { logger } = captureLogs();
  const runtime = await buildRuntime(config, { logger });
  adapter = createDiscordAdapter({
    config: config.discord!,
    conversations: layerOver(runtime.answerer, { dedupe: hung, logger }),
    logger,
  });
  const ready = discord.waitForReady();
  await adapter.start();
  await ready;
});

afterAll(async () => {
  await adapter?.stop();
  await Promise.all([backends?.close(), discord?.close()]);
  await rm(dataDir, { recursive: true, force: true });
});

describe('Discord: a hung shared store', () => {
  it('still defers /ask, instead of leaving the interaction silent', async () => {
    const { id } = discord.slashAsk({ question: 'How do I deploy the bot?' });
    const callback = await waitFor(
      () => discord.callsTo('POST', new RegExp(`/interactions/${id}/`))[0],
      'the deferral',
    );
    expect(callback.body).toMatchObject({ type: 5 });
    expect(checks).toBeGreaterThan(0);
  });

  it('still thanks a feedback click', async () => {
    const answer = discord.addMessage(discord.channelId, 'An earlier answer [1].');
    const { id } = discord.clickButton({ customId: 'feedback:up:q-hung', messageId: answer.id });
    const callback = await waitFor(
      () => discord.callsTo('POST', new RegExp(`/interactions/${id}/`))[0],
      'the thanks',
    );
    expect(callback.body).toMatchObject({ type: 4, data: { flags: 64 } });
  });
});
