import { readdirSync, readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, parseConfig, SECRET_VARIABLES } from '../../src/config.js';

describe('configuration', () => {
  it('runs with no environment at all: offline generator, local store, documented defaults', () => {
    const config = parseConfig({});
    expect(config.groq.apiKey).toBeUndefined();
    expect(config.groq.model).toBe('llama-3.1-8b-instant');
    expect(config.upstash).toBeUndefined();
    expect(config.rag.topK).toBe(3);
    expect(config.rag.maxQuestionChars).toBe(2000);
    expect(config.slack).toBeUndefined();
    expect(config.discord).toBeUndefined();
  });

  it('needs DISCORD_APPLICATION_ID beside DISCORD_TOKEN, saying what it is for and where to find it', () => {
    const token = 'discord-bot-token-never-shown';
    expect(() => parseConfig({ DISCORD_TOKEN: token })).toThrow(ConfigError);
    try {
      parseConfig({ DISCORD_TOKEN: token });
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        'DISCORD_APPLICATION_ID is required with DISCORD_TOKEN: the /ask command is registered under it (npm run commands:deploy). Copy it from Developer Portal → General Information → Application ID',
      ]);
      expect((error as ConfigError).message).not.toContain(token);
    }
    expect(
      parseConfig({ DISCORD_TOKEN: token, DISCORD_APPLICATION_ID: '123456789012345678' }).discord,
    ).toMatchObject({
      applicationId: '123456789012345678',
    });
  });

  it('reports every problem at once, naming each variable and never echoing a secret', () => {
    const secret = 'xoxp-not-a-bot-token-123456';
    let error: unknown;
    try {
      parseConfig({
        SLACK_BOT_TOKEN: secret,
        UPSTASH_VECTOR_REST_URL: 'https://example-vector.upstash.io',
        RAG_TOP_K: 'three',
        PORT: '70000',
        GROQ_BASE_URL: 'not a url',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const variable of [
      'SLACK_BOT_TOKEN',
      'UPSTASH_VECTOR_REST_TOKEN',
      'RAG_TOP_K',
      'PORT',
      'GROQ_BASE_URL',
    ]) {
      expect(problems).toContain(variable);
    }
    expect((error as Error).message).not.toContain(secret);
  });

  it('says what a wrong value should be, in the same words for every kind of variable', () => {
    const problemsOf = (env: Record<string, string>) => {
      try {
        parseConfig(env);
      } catch (error) {
        return (error as ConfigError).problems;
      }
      throw new Error('expected a configuration error');
    };
    expect(
      problemsOf({
        LOG_LEVEL: 'loud',
        GROQ_TIMEOUT_MS: '1.5',
        GROQ_MAX_RETRIES: '1e20',
        DISCORD_TOKEN: 'discord-token',
        DISCORD_APPLICATION_ID: '123456789012345678',
        DISCORD_SHARDS: '0',
      }),
    ).toEqual(
      expect.arrayContaining([
        'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
        'GROQ_TIMEOUT_MS must be a whole number',
        'GROQ_MAX_RETRIES must be at most 10',
        'DISCORD_SHARDS must be at least 1',
      ]),
    );
  });

  it('takes DATABASE_URL only as a PostgreSQL URL, and never echoes it', () => {
    const url = 'postgres://bot:s3cret-password@db.internal:5432/rag';
    expect(parseConfig({ DATABASE_URL: url }).database).toEqual({
      url,
      answerTakeoverMs: 15_000,
      poolSize: 10,
    });
    expect(parseConfig({ DATABASE_URL: 'postgresql://db/rag' }).database?.url).toBe('postgresql://db/rag');
    expect(parseConfig({}).database).toBeUndefined();
    const wrong = 'mysql://bot:s3cret-password@db.internal/rag';
    expect(() => parseConfig({ DATABASE_URL: wrong })).toThrow(
      'DATABASE_URL must be a PostgreSQL URL (postgres://user:password@host:5432/database)',
    );
    try {
      parseConfig({ DATABASE_URL: wrong });
    } catch (error) {
      expect(String(error)).not.toContain('s3cret-password');
    }
  });

  it('treats blank values as unset, so an .env copied from .env.example works', () => {
    const config = parseConfig({ GROQ_API_KEY: '', UPSTASH_VECTOR_REST_URL: ' ', GROQ_MODEL: '' });
    expect(config.groq.apiKey).toBeUndefined();
    expect(config.upstash).toBeUndefined();
    expect(config.groq.model).toBe('llama-3.1-8b-instant');
  });

  it('refuses GIT_TOKEN without GIT_TOKEN_HOSTS at start-up, naming both, never the token', () => {
    let problems: readonly string[] = [];
    try {
      parseConfig({ GIT_TOKEN: 'ghp-catch-all-secret' });
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems.join('\n')).toMatch(/GIT_TOKEN is sent only to the hosts in GIT_TOKEN_HOSTS/);
    expect(problems.join('\n')).not.toContain('ghp-catch-all-secret');
    const config = parseConfig({ GIT_TOKEN: 'ghp-1', GIT_TOKEN_HOSTS: 'github.com,gitlab.example.com' });
    expect(config.knowledge.sources.GIT_TOKEN_HOSTS).toBe('github.com,gitlab.example.com');
    expect(() => parseConfig({ GIT_TOKEN: 'ghp-1', GIT_TOKEN_HOSTS: 'https://github.com' })).toThrow(
      /GIT_TOKEN_HOSTS/,
    );
  });

  it('selects Slack Socket Mode without a signing secret when an app token is given', () => {
    const config = parseConfig({ SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_APP_TOKEN: 'xapp-1-A-1-abc' });
    expect(config.slack?.appToken).toBe('xapp-1-A-1-abc');
    expect(config.slack?.signingSecret).toBeUndefined();
  });
});

describe('the areas the configuration is composed of', () => {
  it('declare each variable once, and every secret among their variables', () => {
    expect(new Set(CONFIG_VARIABLES).size).toBe(CONFIG_VARIABLES.length);
    for (const name of SECRET_VARIABLES) expect(CONFIG_VARIABLES).toContain(name);
  });

  it('are all documented in .env.example, which lists nothing the bot does not read', () => {
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const listed = [...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]);
    expect([...CONFIG_VARIABLES].sort()).toEqual([...new Set(listed)].sort());
  });

  it('are all named in docs/configuration.md', () => {
    const page = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    expect(CONFIG_VARIABLES.filter((name) => !page.includes(`\`${name}\``))).toEqual([]);
  });

  it('share building blocks that import nothing from any area', () => {
    const folder = new URL('../../src/settings/', import.meta.url);
    for (const file of readdirSync(folder)) {
      const imports = ts
        .preProcessFile(readFileSync(new URL(file, folder), 'utf8'))
        .importedFiles.map((entry) => entry.fileName);
      for (const name of imports)
        expect(name === 'valibot' || /^\.\/[\w-]+\.js$/.test(name), `${file}: ${name}`).toBe(true);
    }
  });
});
