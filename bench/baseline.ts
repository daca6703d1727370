/**
 * The floor any answer pays: one Upstash query and a Groq stream up to its first token, made
 * with bare fetch against the same fakes. Subtracting it leaves the overhead of our code and
 * the SDKs, without the fakes' own timer slop and loopback HTTP cost.
 */
import { performance } from 'node:perf_hooks';
import type { RemoteFakes } from './fakes-process.js';

export async function bareRoundTrip(fakes: Omit<RemoteFakes, 'stop'>): Promise<number> {
  const started = performance.now();
  const query = await fetch(`${fakes.upstashURL}/query-data`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fakes.upstashToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      data: 'How do I add the bot to Slack?',
      topK: 3,
      includeMetadata: true,
      includeData: true,
    }),
  });
  await query.json();
  const chat = await fetch(`${fakes.groqURL}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fakes.groqKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'llama-3.1-8b-instant',
      stream: true,
      messages: [{ role: 'user', content: '<passage id="1">\nTo add the bot, create an app.\n</passage>' }],
    }),
  });
  const reader = chat.body!.getReader();
  const decoder = new TextDecoder();
  let seen = '';
  while (!/"content":"[^"]/.test(seen)) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += decoder.decode(value);
  }
  const elapsed = performance.now() - started;
  await reader.cancel();
  return elapsed;
}
