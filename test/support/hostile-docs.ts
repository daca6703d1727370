/**
 * Documents whose titles, URLs and file names carry mention syntax, as an attacker who can
 * get a file into the knowledge base would write them, added to the Upstash fake's index.
 */
import { UpstashStore } from '../../src/stores/upstash.js';
import type { Backends } from './backends.js';

export const HOSTILE_QUESTION = 'What are the Zebra canteen hours?';

const text = (n: number) =>
  `Zebra canteen hours: the Zebra canteen opens at ${7 + n} and the Zebra canteen closes at 15.`;

export async function addHostileDocuments(backends: Backends, platform: 'slack' | 'discord'): Promise<void> {
  const store = new UpstashStore({ url: backends.upstash.url, token: backends.upstash.token, namespace: '' });
  const chunks =
    platform === 'slack'
      ? [
          { title: 'Zebra canteen hours', url: '!here', source: 'zebra/a.md' },
          { title: '@U999 <@U999>', url: 'https://example.com/a> <!channel', source: 'zebra/b.md' },
          { title: '!subteam^S77 <!subteam^S77|@oncall> @channel', source: 'zebra/<!everyone>.md' },
        ]
      : [
          { title: 'Zebra canteen hours', url: 'javascript:alert(1)', source: 'zebra/a.md' },
          {
            title: '@everyone <@1100000000000000555>',
            url: 'https://example.com/a) @here',
            source: 'zebra/b.md',
          },
          { title: '<@&1100000000000000888>](https://evil.example)', source: 'zebra/`@here`.md' },
        ];
  await store.upsert(
    chunks.map((chunk, i) => ({
      id: `hostile-${platform}-${i}`,
      text: text(i),
      metadata: {},
      ...chunk,
    })),
  );
}
