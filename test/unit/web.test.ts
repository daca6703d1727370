/**
 * The web chat's pure parts: configuration parsing, the per-client rate limit, request
 * validation, the token check, and the page's own modules (safe markdown, history trimming)
 * run in Node with the real markdown-it.
 */
import markdownit from 'markdown-it';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';
import { DEFAULT_LIMITS } from '../../src/web/options.js';
import { parseOrigins } from '../../src/web/origins.js';
import { ClientRateLimiter } from '../../src/web/rate-limit.js';
import { BadRequest, parseChatRequest, parseFeedbackRequest } from '../../src/web/requests.js';
import { contentSecurityPolicy, tokenMatches } from '../../src/web/security.js';

/** The page's modules are plain browser JavaScript; they are loaded by path, typed here. */
interface Renderer {
  render(text: string): string;
}
interface ConversationModule {
  Conversation: new (
    limits: typeof LIMITS,
  ) => {
    add(question: string, answer: string): void;
    history(): Array<{ role: string; text: string }>;
    requestBody(question: string, tabId: string): string;
  };
}
const LIMITS = { maxHistoryTurns: 4, maxTurnChars: 10, maxBodyBytes: 300 };
const clientModule = (name: string) => `../../src/web/client/${name}`;

async function renderer(): Promise<Renderer> {
  const { createRenderer } = (await import(/* @vite-ignore */ clientModule('markdown.js'))) as {
    createRenderer: (factory: typeof markdownit) => Renderer;
  };
  return createRenderer(markdownit);
}

describe('WEB_CHAT_ORIGINS and WEB_CHAT_TOKEN', () => {
  it('normalises origins as browsers send them and drops duplicates', () => {
    expect(
      parseOrigins(' https://docs.example.com/ , http://localhost:8080,https://docs.example.com'),
    ).toEqual(['https://docs.example.com', 'http://localhost:8080']);
    expect(parseOrigins('')).toEqual([]);
  });

  it('reports every bad origin and a short token together, without echoing the token', () => {
    let error: unknown;
    try {
      parseConfig({
        WEB_CHAT_ORIGINS: 'docs.example.com,https://x.example/path,ftp://y.example',
        WEB_CHAT_TOKEN: 'short-secret',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('"docs.example.com" is not an origin');
    expect(message).toContain('must be an origin only');
    expect(message).toContain('must start with https:// or http://');
    expect(message).toContain('WEB_CHAT_TOKEN must be at least 16 characters');
    expect(message).toContain('WEB_CHAT_ORIGINS');
    expect(message).not.toContain('short-secret');
  });

  it('puts the allowed origins in frame-ancestors and nothing unsafe in the policy', () => {
    const csp = contentSecurityPolicy(['https://docs.example.com']);
    expect(csp).toContain("frame-ancestors 'self' https://docs.example.com");
    expect(csp).not.toMatch(/unsafe|\*/);
  });
});

describe('per-client rate limit', () => {
  it('refuses beyond the limit within a minute, says when to retry, and forgets old requests', () => {
    let now = 0;
    const limiter = new ClientRateLimiter(2, () => now);
    expect(limiter.hit('1.2.3.4').allowed).toBe(true);
    now = 10_000;
    expect(limiter.hit('1.2.3.4').allowed).toBe(true);
    expect(limiter.hit('1.2.3.4')).toEqual({ allowed: false, retryAfterSeconds: 50 });
    expect(limiter.hit('5.6.7.8').allowed).toBe(true);
    now = 60_000;
    expect(limiter.hit('1.2.3.4').allowed).toBe(true);
  });

  it('is off at 0', () => {
    const limiter = new ClientRateLimiter(0);
    for (let i = 0; i < 100; i++) expect(limiter.hit('x').allowed).toBe(true);
  });
});

describe('request validation', () => {
  it('accepts a question with a well-formed history', () => {
    expect(
      parseChatRequest(
        {
          question: 'And after that?',
          history: [
            { role: 'user', text: 'q' },
            { role: 'assistant', text: 'a' },
          ],
        },
        DEFAULT_LIMITS,
      ),
    ).toEqual({
      question: 'And after that?',
      history: [
        { role: 'user', text: 'q' },
        { role: 'assistant', text: 'a' },
      ],
    });
  });

  it.each([
    ['a non-text question', { question: 42 }, /question: must be text/],
    ['a system turn', { question: 'q', history: [{ role: 'system', text: 'x' }] }, /history\.0\.role/],
    [
      'an over-long turn',
      { question: 'q', history: [{ role: 'user', text: 'x'.repeat(4_001) }] },
      /at most 4000/,
    ],
    ['a bad tab id', { question: 'q', tabId: '<script>' }, /tabId/],
    ['a tab id that is not text', { question: 'q', tabId: 7 }, /tabId: must be a string, not a number/],
    ['a list instead of an object', ['q'], /must be an object, not an array/],
  ])('refuses %s with a message saying what is wrong', (_name, body, message) => {
    expect(() => parseChatRequest(body, DEFAULT_LIMITS)).toThrow(message);
    expect(() => parseChatRequest(body, DEFAULT_LIMITS)).toThrow(BadRequest);
  });

  it('takes only votes on real answer ids', () => {
    expect(
      parseFeedbackRequest({ questionId: '0b6f3c9e-2a4d-4a8e-9c1b-3d5e7f9a1b2c', vote: 'up' }).vote,
    ).toBe('up');
    expect(() => parseFeedbackRequest({ questionId: 'x', vote: 'up' })).toThrow(/id of an answer/);
    expect(() =>
      parseFeedbackRequest({ questionId: '0b6f3c9e-2a4d-4a8e-9c1b-3d5e7f9a1b2c', vote: 'meh' }),
    ).toThrow(/"up" or "down"/);
  });
});

describe('access token', () => {
  it('matches only the exact token', () => {
    const token = 'a-long-enough-access-token';
    expect(tokenMatches(token, token)).toBe(true);
    expect(tokenMatches(`${token}x`, token)).toBe(false);
    expect(tokenMatches('', token)).toBe(false);
    expect(tokenMatches(undefined, token)).toBe(false);
  });
});

describe('the page’s markdown renderer', () => {
  it('renders markdown and escapes every piece of HTML as text', async () => {
    const html = (await renderer()).render(
      '**bold** <img src=x onerror=alert(1)> <script>alert(2)</script>\n\n<div onclick="x()">block</div>',
    );
    expect(html).toContain('<strong>bold</strong>');
    expect(html).not.toMatch(/<img|<script|<div/);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('links only http, https and mailto, in a new tab without access to the page', async () => {
    const html = (await renderer()).render(
      '[a](https://ok.example/a) [b](javascript:alert(1)) [c](JAVASCRIPT:alert(1)) [d](data:text/html,x) ' +
        '[e](vbscript:x) [f](mailto:team@example.com) [g](/relative) <javascript:alert(1)> https://bare.example/x',
    );
    const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((match) => match[1]);
    expect(hrefs).toEqual(['https://ok.example/a', 'mailto:team@example.com', 'https://bare.example/x']);
    expect(html).toContain('rel="noopener noreferrer"');
    expect(html).toContain('target="_blank"');
  });

  it('shows images as links, so nothing loads from elsewhere', async () => {
    const html = (await renderer()).render('![pixel](https://tracker.example/p.png)');
    expect(html).not.toContain('<img');
  });
});

describe('the tab’s conversation', () => {
  async function conversation() {
    const { Conversation } = (await import(
      /* @vite-ignore */ clientModule('conversation.js')
    )) as ConversationModule;
    return new Conversation(LIMITS);
  }

  it('sends the latest turns within the server’s limits, starting with a question', async () => {
    const chat = await conversation();
    chat.add('q1', 'a1');
    chat.add('q2', 'a2');
    chat.add('q3', 'an answer far longer than ten characters');
    expect(chat.history()).toEqual([
      { role: 'user', text: 'q2' },
      { role: 'assistant', text: 'a2' },
      { role: 'user', text: 'q3' },
      { role: 'assistant', text: 'an answer…' },
    ]);
  });

  it('drops the oldest exchanges until the request fits the body limit', async () => {
    const chat = await conversation();
    chat.add('q1', 'a1');
    chat.add('q2', 'a2');
    const body = chat.requestBody('x'.repeat(150), 'tab-12345678');
    expect(new TextEncoder().encode(body).length).toBeLessThanOrEqual(LIMITS.maxBodyBytes);
    expect(JSON.parse(body).history).toEqual([
      { role: 'user', text: 'q2' },
      { role: 'assistant', text: 'a2' },
    ]);
  });
});
