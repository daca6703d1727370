/**
 * For a how-to question, the offline answer's code is chosen by what its section says it does,
 * not only by the sentence just before it: a long section is cut into several passages, and the
 * sentence that says what the example is for is often in another one than the code.
 */
import { describe, expect, it } from 'vitest';
import type { Passage } from '../../src/core/types.js';
import { offlineAnswer } from '../support/offline-answer.js';

const answer = (question: string, passages: Passage[]) => offlineAnswer(question, passages);

const passage = (id: string, section: string, text: string): Passage => ({
  id,
  text,
  source: 'client.md',
  score: 1,
  metadata: { section },
});

const fence = (code: string) => `\`\`\`js\n${code}\n\`\`\``;

// The scanning section, cut in two: what it is for, then the example.
const scanningIntro = passage(
  'scan-1',
  'Guide › Scanning',
  'The SCAN command walks through the keys a few at a time, so it never blocks the server for long. The client wraps it for you.',
);
const scanningExample = passage(
  'scan-2',
  'Guide › Scanning',
  `A readable stream is created by calling \`scanStream\`:\n\n${fence('const stream = client.scanStream();\nstream.on("data", (names) => console.log(names));')}`,
);
// Another section whose example merely shares words with the question.
const messages = passage(
  'messages',
  'Guide › Messages',
  `A consumer reads the stream of messages, blocking until one arrives:\n\n${fence('const [entry] = await client.xread("BLOCK", 0, "STREAMS", "events", "$");\nhandle(entry);')}`,
);

describe('code chosen by its section', () => {
  it('quotes the example of the section whose prose says what the question asks, even in another passage of it', async () => {
    const text = await answer('How do I iterate over all keys without blocking the server, as a stream?', [
      scanningIntro,
      messages,
      scanningExample,
    ]);
    const firstCode = text.indexOf('```');
    expect(text.slice(firstCode, text.indexOf('```', firstCode + 3))).toContain('scanStream()');
  });

  it('leaves questions that do not ask how to do something to what sentences say', async () => {
    const text = await answer('Why does SCAN not block the server?', [
      scanningIntro,
      messages,
      scanningExample,
    ]);
    expect(text.split('\n')[2]).toBe(
      '- The SCAN command walks through the keys a few at a time, so it never blocks the server for long. [1]',
    );
  });
});
