import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../e2e/cli.js';

describe('the Slack app manifest users paste to create the app', () => {
  it('asks for the scopes, events, command and interactivity the adapter relies on', async () => {
    const manifest = JSON.parse(await readFile(join(ROOT, 'commands/slack-manifest.json'), 'utf8'));
    expect(manifest.oauth_config.scopes.bot).toEqual(
      expect.arrayContaining([
        'app_mentions:read',
        'channels:history',
        'groups:history',
        'im:history',
        'chat:write',
        'commands',
        // Files attached to questions are downloaded with the bot token.
        'files:read',
        // The digest shows only questions from public channels (conversations.info).
        'channels:read',
      ]),
    );
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(
      expect.arrayContaining(['app_mention', 'message.channels', 'message.groups', 'message.im']),
    );
    expect(manifest.features.slash_commands[0].command).toBe('/ask');
    expect(manifest.features.slash_commands.map((c: { command: string }) => c.command)).toContain('/kb');
    // The save-thread shortcut, and users:read for the admin check (users.info).
    expect(manifest.features.shortcuts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'message', callback_id: 'save_to_knowledge' }),
      ]),
    );
    expect(manifest.oauth_config.scopes.bot).toContain('users:read');
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    // Every URL points at the one endpoint Bolt's receiver serves.
    for (const url of [
      manifest.features.slash_commands[0].url,
      manifest.settings.event_subscriptions.request_url,
      manifest.settings.interactivity.request_url,
    ]) {
      expect(url).toMatch(/\/slack\/events$/);
    }
  });

  it('declares the message shortcut, the assistant view and the Home tab the handlers answer', async () => {
    const manifest = JSON.parse(await readFile(join(ROOT, 'commands/slack-manifest.json'), 'utf8'));
    expect(manifest.features.shortcuts).toContainEqual(
      expect.objectContaining({ type: 'message', callback_id: 'ask_about_message' }),
    );
    expect(manifest.features.assistant_view.assistant_description).toBeTruthy();
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
    expect(manifest.oauth_config.scopes.bot).toContain('assistant:write');
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(
      expect.arrayContaining([
        'app_home_opened',
        'assistant_thread_started',
        'assistant_thread_context_changed',
      ]),
    );
  });

  it('is described as it is by the bundled knowledge base, which answers "How do I add the bot to Slack?"', async () => {
    const manifest = JSON.parse(await readFile(join(ROOT, 'commands/slack-manifest.json'), 'utf8'));
    const page = await readFile(join(ROOT, 'knowledge/slack-setup.md'), 'utf8');
    const named = new Set([...page.matchAll(/`([^`\s]+)`/g)].map((match) => match[1]));
    const manifestNames: string[] = [
      ...manifest.oauth_config.scopes.bot,
      ...manifest.settings.event_subscriptions.bot_events,
      ...manifest.features.slash_commands.map((command: { command: string }) => command.command),
    ];
    expect(manifestNames.filter((name) => !named.has(name))).toEqual([]);
  });
});
