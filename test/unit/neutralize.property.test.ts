/**
 * Property tests for the mention neutralisers, the streaming neutraliser and the splitter.
 *
 * "Visible text is preserved" means, precisely:
 * - neutralising is reversible: `restore(neutralize(s)) === s` for every string, so the only
 *   changes are Slack's own entity escapes (`&amp;`, `&lt;`, shown as `&` and `<`) and
 *   zero-width spaces, none of which a reader sees;
 * - streaming changes nothing: for any chunking of `s`, the pieces sent joined equal
 *   `neutralize(s)`, every character once and in order;
 * - splitting into messages keeps every non-whitespace character of its input, in order
 *   (it may only drop the whitespace at a cut, and add the fence lines that close and
 *   reopen a code block across messages).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MRKDWN_INPUT_LIMIT, toMrkdwn } from '../../src/platforms/slack/format.js';
import { discordNeutralizer, discordPlainText } from '../../src/render/discord-text.js';
import type { Neutralizer } from '../../src/render/neutralizer.js';
import { SafeStream } from '../../src/render/safe-stream.js';
import { slackNeutralizer, slackPlainText } from '../../src/render/slack-text.js';
import { splitMarkdown } from '../../src/render/split-markdown.js';
import { discordPings, slackPings } from '../support/pings.js';

/** Strings built from the pieces mentions are made of, so the interesting cases are common. */
const tricky = fc
  .array(
    fc.constantFrom(
      '<',
      '>',
      '&',
      '!',
      '@',
      '(',
      ')',
      '[',
      ']',
      '|',
      '^',
      ' ',
      '\n',
      '\u200b',
      'channel',
      'here',
      'HERE',
      'everyone',
      'chan',
      'subteam',
      'U12',
      'W9',
      '123',
      '&',
      '&lt;',
      '&amp;',
      'lt;',
      '`',
      '```',
      '````',
      '~~~~~~~~~~~~~~~~~~~~~~~~~~~~',
      '```python3-long-info-string-here',
      '    ',
      '\n\n',
      '*',
      '_',
      '~',
      '#',
      'https://x.io/a',
      '<@',
      '<@!',
      '<@&',
      '<!',
      '<!channel>',
      '<!subteam^S77|@oncall>',
      '<@U999>',
      '@here',
      '@everyone',
      '](',
      '( ',
      '😀',
      '\ud83d',
      'a',
      'b',
    ),
    { maxLength: 40 },
  )
  .map((pieces) => pieces.join(''));
const anyText = fc.oneof(
  { arbitrary: tricky, weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 80 }), weight: 1 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 80 }), weight: 1 },
);
/** A text and the places a stream happened to cut it. */
const chunked = anyText.chain((text) =>
  fc.oneof(
    fc
      .uniqueArray(fc.integer({ min: 0, max: text.length }), { maxLength: 12 })
      .map((cuts) => ({ text, cuts: cuts.sort((a, b) => a - b) })),
    // One code unit at a time: every cut a stream could make.
    fc.constant({ text, cuts: Array.from({ length: text.length }, (_, i) => i) }),
  ),
);

function chunks(text: string, cuts: readonly number[]): string[] {
  const out: string[] = [];
  let from = 0;
  for (const cut of [...cuts, text.length]) {
    out.push(text.slice(from, cut));
    from = cut;
  }
  return out;
}

const visible = (text: string) => [...text].filter((c) => !/\s/.test(c));

function isSubsequence(needle: readonly string[], haystack: readonly string[]): boolean {
  let i = 0;
  for (const c of haystack) if (i < needle.length && c === needle[i]) i++;
  return i === needle.length;
}

const platforms: { name: string; neutralizer: Neutralizer; pings: (text: string) => string[] }[] = [
  { name: 'Slack', neutralizer: slackNeutralizer, pings: slackPings },
  { name: 'Discord', neutralizer: discordNeutralizer, pings: discordPings },
];

for (const { name, neutralizer, pings } of platforms) {
  describe(`${name}: neutralising text we did not write`, () => {
    it('leaves no active ping in any string', () => {
      fc.assert(
        fc.property(anyText, (text) => {
          expect(pings(neutralizer.neutralize(text))).toEqual([]);
        }),
      );
    });

    it('is reversible: restoring gives back exactly what the author wrote', () => {
      fc.assert(
        fc.property(anyText, (text) => {
          expect(neutralizer.restore(neutralizer.neutralize(text))).toBe(text);
        }),
      );
    });

    it('streamed in any chunks, sends every character once, in order, and never a ping on the way', () => {
      fc.assert(
        fc.property(chunked, ({ text, cuts }) => {
          const stream = new SafeStream(neutralizer);
          let sent = '';
          for (const piece of chunks(text, cuts)) {
            sent += stream.push(piece);
            // What the user sees mid-stream: a prefix of the final text, already safe.
            expect(pings(sent)).toEqual([]);
            expect(neutralizer.neutralize(text).startsWith(sent)).toBe(true);
          }
          const { rest, diverged } = stream.finish(text);
          sent += rest;
          expect(diverged).toBe(false);
          expect(sent).toBe(neutralizer.neutralize(text));
          expect(neutralizer.restore(sent)).toBe(text);
        }),
        { numRuns: 500 },
      );
    });

    it('finishing with the whole text sends what had not streamed yet', () => {
      fc.assert(
        fc.property(anyText, anyText, (streamed, unsent) => {
          const stream = new SafeStream(neutralizer);
          const sent = stream.push(streamed) + stream.finish(streamed + unsent).rest;
          expect(sent).toBe(neutralizer.neutralize(streamed + unsent));
        }),
      );
    });

    it('split into messages of any size, keeps every visible character in order and pings no one', () => {
      fc.assert(
        fc.property(anyText, fc.integer({ min: 40, max: 120 }), (text, limit) => {
          const safe = neutralizer.neutralize(text.repeat(3));
          const parts = splitMarkdown(safe, limit);
          for (const part of parts) {
            expect(part.length).toBeLessThanOrEqual(limit);
            expect(pings(part)).toEqual([]);
          }
          expect(isSubsequence(visible(safe), visible(parts.join('\n')))).toBe(true);
        }),
      );
    });
  });
}

/**
 * CommonMark with links whose destination is a mention, in every form CommonMark accepts:
 * inline, with a title, images, angle-bracketed, escaped, as an entity or percent-encoded,
 * reference definitions (used before or after, or not at all), destinations on the next line,
 * inside block quotes and list items.
 */
const mentionTarget = fc.constantFrom(
  '!here',
  '!channel',
  '!everyone',
  '!subteam^S77',
  '@U999',
  '@W12',
  '@here',
  '\\!here',
  '\\@U1',
  '&#33;here',
  '&#x21;channel',
  '&excl;here',
  '&commat;U1',
  '%21here',
  '%40U1',
  '<!here>',
  '<@U999>',
  '\u200b!here',
  'https://x.io/a',
  '/docs',
);
const linkForm = fc
  .tuple(
    fc.constantFrom(
      '[t](D)',
      '[t]( D )',
      '[t](D "title")',
      '![i](D)',
      '[t](\nD)',
      '[t](\n> D)',
      '[t](\n   D)',
      '[t](<D>)',
      '[r]: D',
      '[r]:\nD',
      '[r]:\n> D',
      "   [r]: D 'title'",
      '[r]: <D>',
      '[t][r]',
      '[r]',
      '[r][]',
    ),
    mentionTarget,
  )
  .map(([form, target]) => form.replaceAll('D', target));
const markdownDocument = fc
  .array(
    fc.tuple(
      fc.constantFrom('', '> ', '- ', '  ', '1. ', '> > ', '- > ', '    '),
      fc.array(fc.oneof(linkForm, fc.constantFrom('see ', 'the ', '`code` ', '*', '(', ')', ']', ':', ' ')), {
        maxLength: 4,
      }),
    ),
    { minLength: 1, maxLength: 6 },
  )
  .chain((lines) =>
    fc
      .array(fc.constantFrom('\n', '\n\n'), { minLength: lines.length, maxLength: lines.length })
      .map((ends) => lines.map(([prefix, parts], i) => `${prefix}${parts.join('')}${ends[i]}`).join('')),
  );

describe('Slack: markdown links to mentions, in every form CommonMark accepts', () => {
  it('the generated documents do hold such links before neutralising (the oracle sees them)', () => {
    let seen = 0;
    fc.assert(
      fc.property(markdownDocument, (doc) => {
        if (slackPings(doc).some((ping) => ping.startsWith('link to'))) seen += 1;
      }),
      { numRuns: 300 },
    );
    expect(seen).toBeGreaterThan(100);
  });

  it('no destination of the neutralised text is a mention, as markdown-it (CommonMark) reads it', () => {
    fc.assert(
      fc.property(markdownDocument, (doc) => {
        expect(slackPings(slackNeutralizer.neutralize(doc))).toEqual([]);
        expect(slackNeutralizer.restore(slackNeutralizer.neutralize(doc))).toBe(doc);
      }),
      { numRuns: 1_000 },
    );
  });

  it('streamed in any chunks: the pieces sent equal the whole neutralised at once, and none pings', () => {
    const chunkedDocument = markdownDocument.chain((text) =>
      fc
        .uniqueArray(fc.integer({ min: 0, max: text.length }), { maxLength: 16 })
        .map((cuts) => ({ text, cuts: cuts.sort((a, b) => a - b) })),
    );
    fc.assert(
      fc.property(chunkedDocument, ({ text, cuts }) => {
        const stream = new SafeStream(slackNeutralizer);
        let sent = '';
        for (const piece of chunks(text, cuts)) {
          sent += stream.push(piece);
          expect(slackPings(sent)).toEqual([]);
        }
        sent += stream.end();
        expect(sent).toBe(slackNeutralizer.neutralize(text));
      }),
      { numRuns: 500 },
    );
  });

  it('the issue’s payloads', () => {
    for (const attack of [
      '[x](\\!here)',
      'See [r].\n\n[r]: !channel',
      '[x]\n\n[x]: @U0123ABC',
      '[x](<!here>)',
      '> [x](\n> !here)',
      '- [r]:\n  !everyone\n\n[r]',
      '[x](&#33;here)',
    ]) {
      expect(slackPings(attack)).not.toEqual([]);
      const safe = slackNeutralizer.neutralize(attack);
      expect(slackPings(safe)).toEqual([]);
      expect(safe.replaceAll('\u200b', '').replaceAll('&lt;', '<').replaceAll('&amp;', '&')).toBe(attack);
    }
  });
});

describe('texts shown outside a stream', () => {
  it('Slack: titles and echoed questions, and the mrkdwn copy of an answer, ping no one', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(slackPings(slackPlainText(text))).toEqual([]);
        expect(slackPings(toMrkdwn(slackNeutralizer.neutralize(text)))).toEqual([]);
      }),
    );
  });

  it('Slack: a markdown link to a mention target stays text in the mrkdwn copy', () => {
    const mrkdwn = toMrkdwn(slackNeutralizer.neutralize('see [the runbook](!here) and [x](@U999)'));
    expect(slackPings(mrkdwn)).toEqual([]);
    expect(mrkdwn).toContain('the runbook');
  });

  it('Slack: the mrkdwn copy converts only the start of a long answer, hostile emphasis runs included', () => {
    for (const run of ['_a', '_x*', '*a_', '**_']) {
      const answer = run.repeat(30_000);
      const mrkdwn = toMrkdwn(slackNeutralizer.neutralize(answer));
      expect(mrkdwn.length).toBeLessThanOrEqual(MRKDWN_INPUT_LIMIT * 2);
      expect(mrkdwn.endsWith('…')).toBe(true);
    }
    const short = 'Create the app from the *manifest*.';
    expect(toMrkdwn(short)).toContain('_manifest_');
    expect(toMrkdwn(short).endsWith('…')).toBe(false);
  });

  it('Discord: titles and file names ping no one', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(discordPings(discordPlainText(text))).toEqual([]);
      }),
    );
  });
});

describe('examples a reader can check by eye', () => {
  it('Slack: the issue’s streamed answer keeps every word and closes no mention', () => {
    const words = (prefix: string, n: number) =>
      Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(' ');
    const answer = `Zebra: <!channel|${words('w', 80)}> ${words('f', 200)} a > b [1].`;
    const stream = new SafeStream(slackNeutralizer);
    let sent = '';
    for (const word of answer.split(/(?<= )/)) sent += stream.push(word);
    sent += stream.end();
    expect(slackPings(sent)).toEqual([]);
    expect(sent).toContain('&lt;!channel|w0 w1');
    expect(sent).toContain('w79> f0');
    expect(sent.endsWith('f199 a > b [1].')).toBe(true);
    expect(slackNeutralizer.restore(sent)).toBe(answer);
  });

  it('the ping detectors used here catch the raw mentions', () => {
    for (const raw of ['<!channel>', '<!here|x>', '<!subteam^S77>', '<@U999>', '@here', '[a](!here)'])
      expect(slackPings(raw)).not.toEqual([]);
    for (const raw of ['@everyone', '@here', '<@123>', '<@!45>', '<@&67>'])
      expect(discordPings(raw)).not.toEqual([]);
  });

  it('Discord: mentions render as written but are broken by an invisible space', () => {
    const text = '@everyone <@123> <@!45> <@&67> @here';
    const safe = discordNeutralizer.neutralize(text);
    expect(safe.replaceAll('\u200b', '')).toBe(text);
    expect(discordPings(safe)).toEqual([]);
  });
});
