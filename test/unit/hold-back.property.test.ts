/**
 * The streaming hold-back (`Neutralizer.holdBack`, used by `SafeStream`): what it lets through
 * is final whatever follows, it holds back no more than that, and its work is linear in the
 * answer's length, however hostile the text and however it is cut into pieces.
 *
 * "Final" is checked against `neutralize` itself: a prefix is final when neutralising it and,
 * separately, the rest with any continuation gives the whole neutralised at once. The
 * continuations tried are those that could complete a mention still forming.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { discordNeutralizer } from '../../src/render/discord-text.js';
import type { Neutralizer } from '../../src/render/neutralizer.js';
import { plainNeutralizer } from '../../src/render/plain-text.js';
import { SafeStream } from '../../src/render/safe-stream.js';
import { slackNeutralizer } from '../../src/render/slack-text.js';
import { discordPings, slackPings } from '../support/pings.js';

const WORDS = ['everyone', 'here', 'channel'];
/** Whatever could finish a mention, a link destination or a `]:` still forming, and a few that could not. */
const CONTINUATIONS = [
  '',
  'x',
  ' ',
  '@',
  '!',
  '\\',
  '&',
  '%',
  '<',
  ':',
  ':!',
  ':@',
  ': !',
  '\u200b',
  '\u200b@',
  '\u200b!',
  '\udc00',
  ...WORDS.flatMap((word) => Array.from({ length: word.length }, (_, i) => word.slice(i))),
  ...WORDS.map((word) => word.toUpperCase()),
];

/** Strings made of what mentions, links and their openers are made of, hostile runs included. */
const text = fc
  .array(
    fc.oneof(
      {
        arbitrary: fc.constantFrom(
          '<',
          '@',
          '(',
          ')',
          '[',
          ']',
          ':',
          '!',
          '&',
          '%',
          '\\',
          ' ',
          '\t',
          '\n',
          '>',
          '\u200b',
          'e',
          'ver',
          'yone',
          'HE',
          're',
          'chan',
          'nel',
          'x',
          '😀',
          '\ud83d',
          '\ude00',
        ),
        weight: 6,
      },
      {
        arbitrary: fc
          .tuple(fc.constantFrom('<', '(', ']', '( ', '](', '\u200b', ' '), fc.integer({ min: 2, max: 12 }))
          .map(([unit, n]) => unit.repeat(n)),
        weight: 1,
      },
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));

const chunked = text.chain((whole) =>
  fc
    .uniqueArray(fc.integer({ min: 0, max: whole.length }), { maxLength: 10 })
    .map((cuts) => ({ whole, pieces: cutAt(whole, cuts) })),
);

/** `whole` cut at each of `cuts`, in any order. */
function cutAt(whole: string, cuts: readonly number[]): string[] {
  const out: string[] = [];
  let from = 0;
  for (const cut of [...[...cuts].sort((a, b) => a - b), whole.length]) {
    out.push(whole.slice(from, cut));
    from = cut;
  }
  return out;
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/** Whether a cut at `cut` could part the two halves of a character (the second may be still to come). */
function splitsCharacter(read: string, cut: number): boolean {
  return (
    isHighSurrogate(read.charCodeAt(cut - 1)) && (cut === read.length || isLowSurrogate(read.charCodeAt(cut)))
  );
}

/** Whether sending `neutralize(read.slice(0, cut))` now is right whatever follows. */
function isFinal(neutralizer: Neutralizer, read: string, cut: number): boolean {
  const { neutralize } = neutralizer;
  return CONTINUATIONS.every(
    (next) => neutralize(read.slice(0, cut)) + neutralize(read.slice(cut) + next) === neutralize(read + next),
  );
}

/** The longest prefix that is final and parts no character: what a stream should send. */
function longestFinal(neutralizer: Neutralizer, read: string): number {
  for (let cut = read.length; cut > 0; cut--)
    if (!splitsCharacter(read, cut) && isFinal(neutralizer, read, cut)) return cut;
  return 0;
}

const platforms = [
  { name: 'Slack', neutralizer: slackNeutralizer, pings: slackPings },
  { name: 'Discord', neutralizer: discordNeutralizer, pings: discordPings },
  { name: 'plain text', neutralizer: plainNeutralizer, pings: () => [] },
];

for (const { name, neutralizer, pings } of platforms) {
  describe(`${name}: the streaming hold-back`, () => {
    it('lets through exactly the longest prefix that is final, after every piece, however the text is cut', () => {
      fc.assert(
        fc.property(chunked, ({ pieces }) => {
          const holdBack = neutralizer.holdBack();
          let read = '';
          let before = 0;
          for (const piece of pieces) {
            read += piece;
            const cut = holdBack.read(piece);
            expect(cut).toBeGreaterThanOrEqual(before);
            expect(cut).toBe(longestFinal(neutralizer, read));
            before = cut;
          }
        }),
        { numRuns: 400 },
      );
    });

    it('streamed, a mention split at any boundary after a run of openers is neutralised as when sent whole', () => {
      const mentions = [
        '<@123>',
        '<\u200b@!45>',
        '<@&67>',
        '@everyone',
        '@\u200bHere',
        '<!channel>',
        '<@U999>',
        '@channel',
        '[x](!here)',
        '[x]( \n> @U1)',
        '[x](\u200b\\!here)',
        '[r]: !channel',
        '[r]:\n&#33;here',
        '(@here)',
      ];
      const attack = fc
        .tuple(
          fc.constantFrom('<', '(', ']', '( ', '@', '\u200b', ''),
          fc.integer({ min: 0, max: 40 }),
          fc.constantFrom(...mentions),
          fc.constantFrom('', ' and more', '<', '(', ']'),
        )
        .map(([unit, n, mention, after]) => `${unit.repeat(n)}${mention}${after}`);
      fc.assert(
        fc.property(attack, (whole) => {
          // Cut at each boundary in turn, and at every boundary at once.
          const cuttings = [
            ...Array.from({ length: whole.length + 1 }, (_, i) => [i]),
            Array.from({ length: whole.length }, (_, i) => i),
          ];
          for (const cuts of cuttings) {
            const stream = new SafeStream(neutralizer);
            let sent = '';
            for (const piece of cutAt(whole, cuts)) {
              sent += stream.push(piece);
              expect(pings(sent)).toEqual([]);
            }
            sent += stream.end();
            expect(sent).toBe(neutralizer.neutralize(whole));
          }
        }),
        { numRuns: 150 },
      );
    });
  });
}

/** A neutraliser that counts the characters it is given to neutralise. */
function counting(neutralizer: Neutralizer): { neutralizer: Neutralizer; neutralized: () => number } {
  let neutralized = 0;
  return {
    neutralizer: {
      ...neutralizer,
      neutralize: (text) => {
        neutralized += text.length;
        return neutralizer.neutralize(text);
      },
    },
    neutralized: () => neutralized,
  };
}

/** Hostile answers: runs of what could open a mention or a link, as a model would stream them. */
const RUNS: { name: string; neutralizer: Neutralizer; first?: string; unit: string; held: number }[] = [
  { name: 'Discord', neutralizer: discordNeutralizer, unit: '<', held: 1 },
  { name: 'Discord', neutralizer: discordNeutralizer, unit: '<<<<', held: 1 },
  { name: 'Discord', neutralizer: discordNeutralizer, first: '<', unit: '\u200b\u200b', held: Infinity },
  { name: 'Discord', neutralizer: discordNeutralizer, unit: '@', held: 1 },
  { name: 'Slack', neutralizer: slackNeutralizer, unit: '(', held: 1 },
  { name: 'Slack', neutralizer: slackNeutralizer, unit: '( ', held: 2 },
  { name: 'Slack', neutralizer: slackNeutralizer, unit: ']', held: 1 },
  { name: 'Slack', neutralizer: slackNeutralizer, unit: '](', held: 1 },
  { name: 'Slack', neutralizer: slackNeutralizer, first: '(', unit: ' \n> ', held: Infinity },
  { name: 'Slack', neutralizer: slackNeutralizer, first: '[r]:', unit: '  ', held: Infinity },
];

describe('streaming a long run of openers', () => {
  for (const { name, neutralizer, first = '', unit, held } of RUNS) {
    const label = `${name}: ${JSON.stringify(first)} then ${JSON.stringify(unit)} pieces`;

    it(`${label}: each character is examined and neutralised once, at any length`, () => {
      for (const count of [1_000, 4_000, 16_000]) {
        const { neutralizer: counted, neutralized } = counting(neutralizer);
        const stream = new SafeStream(counted);
        let length = 0;
        for (const piece of [first, ...Array<string>(count).fill(unit), ' Then deploy.']) {
          stream.push(piece);
          length += piece.length;
        }
        const examined = stream.examined;
        stream.end();
        // Linear: exactly one look at each character, however long the run (the hold-back
        // used to rescan all it held on every piece: cubic in the run's length).
        expect(examined).toBe(length);
        expect(neutralized()).toBe(length);
      }
    });

    it(`${label}: what follows the run is sent as it streams, not held to the end`, () => {
      const stream = new SafeStream(neutralizer);
      let raw = '';
      let sent = '';
      const push = (piece: string) => {
        raw += piece;
        sent += stream.push(piece);
        return raw.length - neutralizer.restore(sent).length;
      };
      push(first);
      for (let i = 0; i < 2_000; i++) expect(push(unit)).toBeLessThanOrEqual(held);
      expect(push(' Then deploy')).toBe(0);
      expect(neutralizer.restore(sent).endsWith('Then deploy')).toBe(true);
      expect(sent + stream.end()).toBe(neutralizer.neutralize(raw));
    });
  }

  it('Discord: an 8,000 "<" answer in Llama-sized pieces shows its closing sentence before the end', () => {
    const stream = new SafeStream(discordNeutralizer);
    let sent = stream.push('Deploy with Docker [1]. ');
    for (let i = 0; i < 1_000; i++) sent += stream.push('<<<<<<<<');
    sent += stream.push(' That is all.');
    expect(sent).toBe(`Deploy with Docker [1]. ${'<'.repeat(8_000)} That is all.`);
    expect(stream.end()).toBe('');
  });

  it('Slack: a held opener is sent neutralised once its destination arrives, however late', () => {
    const stream = new SafeStream(slackNeutralizer);
    let sent = stream.push('see [x](');
    for (let i = 0; i < 500; i++) sent += stream.push('  ');
    expect(sent).toBe('see [x]');
    sent += stream.push('\n> !here) now');
    expect(sent).toBe(slackNeutralizer.neutralize(`see [x](${'  '.repeat(500)}\n> !here) now`));
    expect(slackPings(sent)).toEqual([]);
  });
});
