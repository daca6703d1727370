import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, SECRET_VARIABLES } from '../../src/config.js';
import { createLogger } from '../../src/log.js';

const KEY = Buffer.alloc(32, 1).toString('base64');
const OAUTH = {
  SLACK_CLIENT_ID: '1111111111.2222222222',
  SLACK_CLIENT_SECRET: 'client-secret-value',
  SLACK_STATE_SECRET: 'state-secret-value-0123456789',
  SLACK_INSTALLATION_KEY: KEY,
  SLACK_SIGNING_SECRET: 'signing-secret-value',
};

function problems(env: Record<string, string>): string {
  try {
    parseConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.join('\n');
  }
  throw new Error('expected a configuration error');
}

describe('configuration: installing Slack in any workspace', () => {
  it('turns on OAuth mode without a bot token', () => {
    const slack = parseConfig(OAUTH).slack;
    expect(slack?.botToken).toBeUndefined();
    expect(slack?.oauth).toEqual({
      clientId: OAUTH.SLACK_CLIENT_ID,
      clientSecret: OAUTH.SLACK_CLIENT_SECRET,
      stateSecret: OAUTH.SLACK_STATE_SECRET,
      installationKey: KEY,
    });
  });

  it('refuses to store tokens in clear: the key is required, and reported with everything else missing', () => {
    const found = problems({ SLACK_CLIENT_ID: OAUTH.SLACK_CLIENT_ID });
    expect(found).toMatch(
      /SLACK_INSTALLATION_KEY is required .* never stored in clear .*openssl rand -base64 32/,
    );
    expect(found).toContain('SLACK_CLIENT_SECRET is required');
    expect(found).toContain('SLACK_STATE_SECRET is required');
    expect(found).toContain('SLACK_SIGNING_SECRET is required');
  });

  it('checks the key’s size and encoding without echoing it', () => {
    const short = Buffer.alloc(16, 2).toString('base64');
    const found = problems({ ...OAUTH, SLACK_INSTALLATION_KEY: short });
    expect(found).toContain('SLACK_INSTALLATION_KEY must be 32 random bytes in base64');
    expect(found).toContain('decodes to 16 bytes');
    expect(found).not.toContain(short);
    expect(problems({ ...OAUTH, SLACK_INSTALLATION_KEY: 'not base64 at all!' })).toContain(
      'decodes to 0 bytes',
    );
    // Rotation: the new key first, the old one after a comma.
    expect(
      parseConfig({ ...OAUTH, SLACK_INSTALLATION_KEY: `${KEY}, ${Buffer.alloc(32, 3).toString('base64')}` })
        .slack?.oauth,
    ).toBeDefined();
  });

  it('refuses a bot token or Socket Mode alongside OAuth, and a malformed client id', () => {
    const found = problems({
      ...OAUTH,
      SLACK_BOT_TOKEN: 'xoxb-1-2-abc',
      SLACK_APP_TOKEN: 'xapp-1-A-1-abc',
      SLACK_CLIENT_ID: 'abc',
      SLACK_STATE_SECRET: 'short',
    });
    expect(found).toContain('SLACK_BOT_TOKEN cannot be combined with SLACK_CLIENT_ID');
    expect(found).toContain('SLACK_APP_TOKEN (Socket Mode) cannot be combined with SLACK_CLIENT_ID');
    expect(found).toContain('SLACK_CLIENT_ID must be the Client ID');
    expect(found).toContain('SLACK_STATE_SECRET must be at least 16');
  });

  it('keeps the OAuth secrets out of logs', () => {
    for (const name of ['SLACK_CLIENT_SECRET', 'SLACK_STATE_SECRET', 'SLACK_INSTALLATION_KEY'] as const) {
      expect(SECRET_VARIABLES).toContain(name);
    }
    const lines: string[] = [];
    const log = createLogger({
      destination: { write: (line: string) => lines.push(line) } as never,
    });
    log.info(
      { body: 'client_id=1.2&client_secret=abcdef123456&code=c' },
      'oauth.v2.access gave {"access_token":"xoxb-T1-abc123","refresh_token":"xoxe-1-zzz"} for xoxe.xoxb-1-qqq',
    );
    const written = lines.join('');
    for (const secret of ['abcdef123456', 'xoxb-T1-abc123', 'xoxe-1-zzz', 'xoxe.xoxb-1-qqq']) {
      expect(written).not.toContain(secret);
    }
    expect(written).toContain('client_id=1.2');
  });
});
