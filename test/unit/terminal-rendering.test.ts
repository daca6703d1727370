/**
 * The terminal's answer on a (fake) terminal: links show their URL unless the terminal declares
 * OSC 8 hyperlinks, and lines break between words within the width, the "Bot: " label included.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { styleFor, terminalConversation, terminalHyperlinks } from '../../src/cli/terminal-conversation.js';
import { answerInConversation } from '../../src/conversation/answer.js';
import type { AnswerEvent, Answerer } from '../../src/core/types.js';
import { silentLogger } from '../../src/log.js';

const ANSWER =
  'To add the bot, ask an admin to open the workspace settings, then to add the app to the channel ' +
  'where the team asks its questions, and see [the setup guide](https://docs.example.com/slack/setup) ' +
  'for the scopes it needs.\n\n- invite it with /invite @rag-bot in every channel that should use it\n- check that it answers';
const URL = 'https://docs.example.com/slack/setup';
const OSC8 = '\u001b]8;;';
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing the terminal's escape sequences is the point
const ANSI = /\u001b\[[0-9;]*m|\u001b\]8;;[^\u0007]*\u0007/g;

/** An answerer that writes `text` in small pieces, as a model streams. */
function streaming(text: string): Answerer {
  return {
    async *answer(): AsyncGenerator<AnswerEvent> {
      yield {
        type: 'sources',
        sources: [
          {
            index: 1,
            passageId: 'p1',
            title: 'Slack setup',
            source: 'knowledge/slack-setup.md',
            score: 1,
            snippet: 'Slack setup',
          },
        ],
      };
      for (let i = 0; i < text.length; i += 7) yield { type: 'delta', text: text.slice(i, i + 7) };
      yield {
        type: 'done',
        text,
        mode: 'groq',
        degraded: false,
        standaloneQuestion: 'q',
        timings: { retrievalMs: 1, firstTokenMs: 1, totalMs: 2 },
      } as AnswerEvent;
    },
  };
}

const saved = { ...process.env };
afterEach(() => {
  for (const key of [
    'TERM_PROGRAM',
    'TERM_PROGRAM_VERSION',
    'TMUX',
    'FORCE_HYPERLINK',
    'TERM',
    'VTE_VERSION',
    'CI',
  ]) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

/** Terminal environment for one case: what the terminal (or tmux) sets. */
function terminalEnv(vars: Record<string, string>): void {
  for (const key of [
    'TERM_PROGRAM',
    'TERM_PROGRAM_VERSION',
    'TMUX',
    'FORCE_HYPERLINK',
    'VTE_VERSION',
    'CI',
  ]) {
    delete process.env[key];
  }
  process.env.TERM = 'xterm-256color';
  Object.assign(process.env, vars);
}

async function renderOn(columns: number): Promise<string> {
  const tty = { isTTY: true, columns };
  let written = '';
  const conversation = terminalConversation(
    { write: (text) => (written += text), error: (text) => (written += text) },
    styleFor(tty, { ...process.env, NO_COLOR: undefined }),
    [],
  );
  await answerInConversation(conversation, 'How do I add the bot?', {
    answerer: streaming(ANSWER),
    log: silentLogger,
  });
  return written;
}

describe('links in the terminal', () => {
  it('shows the URL inside tmux, where an OSC 8 link would hide it', async () => {
    terminalEnv({ TERM_PROGRAM: 'tmux', TERM_PROGRAM_VERSION: '3.4', TMUX: '/tmp/tmux-0/default,1,0' });
    const out = await renderOn(80);
    expect(out).not.toContain(OSC8);
    expect(out.replace(ANSI, '').replace(/\s+/g, ' ')).toContain(`the setup guide (${URL})`);
  });

  it('shows the URL in a terminal that declares nothing, and an OSC 8 link in one that declares it', async () => {
    terminalEnv({});
    expect((await renderOn(80)).replace(ANSI, '')).toContain(URL);
    expect(await renderOn(80)).not.toContain(OSC8);
    terminalEnv({ TERM_PROGRAM: 'iTerm.app', TERM_PROGRAM_VERSION: '3.5.0' });
    const linked = await renderOn(80);
    expect(linked).toContain(`${OSC8}${URL}\u0007`);
  });

  it('follows what terminals declare: VTE, Windows Terminal, FORCE_HYPERLINK, and tmux only when forced', () => {
    const tty = { isTTY: true };
    terminalEnv({ VTE_VERSION: '7600' });
    expect(terminalHyperlinks(tty)).toBe(true);
    terminalEnv({ WT_SESSION: 'abc' });
    expect(terminalHyperlinks(tty)).toBe(true);
    terminalEnv({ TERM_PROGRAM: 'tmux', VTE_VERSION: '7600' });
    expect(terminalHyperlinks(tty)).toBe(false);
    terminalEnv({ TERM_PROGRAM: 'tmux', FORCE_HYPERLINK: '1' });
    expect(terminalHyperlinks(tty)).toBe(true);
    terminalEnv({ TERM_PROGRAM: 'iTerm.app', TERM_PROGRAM_VERSION: '3.5.0', FORCE_HYPERLINK: '0' });
    expect(terminalHyperlinks(tty)).toBe(false);
    terminalEnv({ TERM_PROGRAM: 'iTerm.app', TERM_PROGRAM_VERSION: '3.5.0' });
    expect(terminalHyperlinks({ isTTY: false })).toBe(false);
  });
});

describe('wrapping in the terminal', () => {
  it('keeps every line within the width, the label included, and breaks only between words', async () => {
    terminalEnv({ TERM_PROGRAM: 'tmux' });
    for (const columns of [40, 57, 80]) {
      const visible = (await renderOn(columns)).replace(ANSI, '');
      const answer = visible.slice(visible.indexOf('Bot: '), visible.indexOf('Sources:'));
      const lines = answer.split('\n');
      for (const line of lines) {
        // Only a word longer than the line (the URL) may overflow, alone on its line.
        if (line.length > columns) expect(line.trim(), `"${line}" at ${columns} columns`).not.toContain(' ');
      }
      // Rejoined, the lines give back the words of the answer, none cut in two (the URL may overflow alone).
      const words = answer.replace('Bot: ', '').split(/\s+/).filter(Boolean);
      for (const word of ['admin', 'add', 'workspace', 'questions,', 'invite', 'answers']) {
        expect(words, `${word} at ${columns} columns`).toContain(word);
      }
      expect(lines[1]?.startsWith('     ')).toBe(true);
    }
  });
});

describe('escape sequences smuggled into an answer', () => {
  /** The answer as written to a terminal with colours and OSC 8 links. */
  async function renderWithLinks(text: string): Promise<string> {
    let written = '';
    const conversation = terminalConversation(
      { write: (piece) => (written += piece), error: (piece) => (written += piece) },
      { color: true, hyperlinks: true, width: 100 },
      [],
    );
    await answerInConversation(conversation, 'What is the policy?', {
      answerer: streaming(text),
      log: silentLogger,
    });
    return written;
  }

  it('never reach the terminal as character references the renderer decodes', async () => {
    const out = await renderWithLinks(
      'The policy &#x1b;[2J&#x1b;]0;owned&#x7; is in &#27;]52;c;ZWNobyBvd25lZA==&#7; the handbook ' +
        '&#27;]8;;file:///etc/passwd&#7;here&#27;]8;;&#7; and &#155;2J, see [the guide](https://docs.example.com/policy).',
    );
    expect(out).not.toContain('\u001b[2J');
    expect(out).not.toContain('\u001b]0;');
    expect(out).not.toContain('\u001b]52;');
    expect(out).not.toContain('file:///etc/passwd\u0007');
    expect(out).not.toContain('\u009b');
    // The renderer's own styles and links are kept.
    expect(out).toContain('\u001b]8;;https://docs.example.com/policy\u0007');
    expect(out.replace(ANSI, '')).toContain('the handbook');
  });
});
