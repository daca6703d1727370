/**
 * Slack: a signed app_mention event into Bolt's real HTTP receiver → the first answer text
 * reaching the Slack Web API fake, at 1, 10 and 100 concurrent threads. Groq and Upstash
 * fakes run in their own process with injected latency; overhead is measured against the
 * bare-HTTP baseline at the same concurrency. Also counts Web API calls per answer.
 * Target: overhead ≤ 10 ms p50.
 */
import { performance } from 'node:perf_hooks';
import { MemoryDedupeStore } from '../../src/ops/shared-state.js';
import { createSlackAdapter } from '../../src/platforms/slack/index.js';
import { eventEnvelope, sendToBolt, startFakeSlack } from '../../test/fakes/slack/index.js';
import { layerOver } from '../../test/support/conversations.js';
import { bareRoundTrip } from '../baseline.js';
import { startRemoteFakes } from '../fakes-process.js';
import { measureOverhead } from '../measure.js';
import { coreOverFakes } from '../remote-core.js';
import { ms } from '../stats.js';
import type { BenchRow, BenchSuite } from '../types.js';

const SECRET = 'bench-signing-secret';

const suite: BenchSuite = {
  name: 'slack',
  async run(): Promise<BenchRow[]> {
    const fakes = await startRemoteFakes({ groqFirstTokenMs: 50, upstashMs: 20 });
    const slack = await startFakeSlack();
    const core = await coreOverFakes(fakes, 1);
    const adapter = createSlackAdapter({
      config: { botToken: slack.token, signingSecret: SECRET, apiURL: slack.apiURL, allowedChannels: [] },
      port: 0,
      conversations: layerOver(core, { dedupe: new MemoryDedupeStore() }),
    });
    await adapter.start();
    const url = `http://127.0.0.1:${adapter.port}/slack/events`;
    let thread = 0;

    /** Sends one mention and resolves when its first answer text reaches Slack. */
    const firstText = async (): Promise<{ ms: number; channel: string }> => {
      const channel = `CB${++thread}`;
      const ts = slack.addUserMessage(channel, 'U1', '<@UBOT> How do I add the bot to Slack?');
      const started = performance.now();
      const arrived = slack.nextAnswerText(channel).then(() => performance.now() - started);
      await sendToBolt(
        url,
        eventEnvelope({
          type: 'app_mention',
          user: 'U1',
          text: '<@UBOT> How do I add the bot to Slack?',
          ts,
          channel,
        }),
        'application/json',
        { secret: SECRET },
      );
      return { ms: await arrived, channel };
    };

    try {
      const samples = await measureOverhead(
        async () => (await firstText()).ms,
        () => bareRoundTrip(fakes),
      );
      const rows = samples.map(
        (sample): BenchRow => ({
          suite: 'slack',
          metric: `event in → first text posted, overhead at ${sample.concurrency} concurrent threads (p50 / p99)`,
          value: `${ms(sample.p50)} / ${ms(sample.p99)}`,
          target: '≤ 10 ms p50',
          pass: sample.p50 <= 10,
        }),
      );
      // Let the last answers finish, then count the Web API calls of one complete answer.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const sample = `CB${thread}`;
      const callsPerAnswer = slack.calls.filter(
        (c) => c.args.channel === sample || c.args.channel_id === sample,
      ).length;
      const methods = slack.calls
        .filter((c) => c.args.channel === sample || c.args.channel_id === sample)
        .map((c) => c.method.replace('chat.', '').replace('assistant.threads.', ''))
        .join(', ');
      rows.push({
        suite: 'slack',
        metric: 'Web API calls per streamed answer',
        value: `${callsPerAnswer} (${methods})`,
      });
      return rows;
    } finally {
      await adapter.stop();
      await slack.close();
      await fakes.stop();
    }
  },
};

export default suite;
