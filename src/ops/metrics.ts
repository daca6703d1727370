/**
 * Prometheus metrics (prom-client, own registry): questions by platform and outcome,
 * latency per stage, tokens, failures by kind, answers in flight, plus process metrics.
 * MeteredAnswerer records them from the answer events, so every front end is counted alike.
 */
import './metrics-deps.js';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Admission, AnswerEvent, Answerer, Question, Turn } from '../core/types.js';
import type { HttpRoute } from '../http/types.js';
import { processMetrics } from './process-metrics.js';

const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];

export class BotMetrics {
  readonly registry = new Registry();
  readonly questions = new Counter({
    name: 'rag_questions_total',
    help: 'Questions by platform and outcome (answered, or the failure kind)',
    labelNames: ['platform', 'outcome'],
    registers: [this.registry],
  });
  readonly failures = new Counter({
    name: 'rag_failures_total',
    help: 'Failed answers by kind and the service that failed',
    labelNames: ['kind', 'service'],
    registers: [this.registry],
  });
  readonly stageSeconds = new Histogram({
    name: 'rag_stage_seconds',
    help: 'Time spent per answer stage: retrieval, first_token, total',
    labelNames: ['stage'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: 'rag_tokens_total',
    help: 'Model tokens used, by type',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'rag_answers_in_flight',
    help: 'Answers being generated now',
    registers: [this.registry],
  });
  readonly degraded = new Counter({
    name: 'rag_degraded_answers_total',
    help: 'Answers given from the passages because the model was unavailable',
    registers: [this.registry],
  });

  constructor() {
    processMetrics(this.registry);
  }

  /**
   * `GET /metrics` in Prometheus text. `children` adds the metrics of child processes (Discord
   * shards), aggregated with this process's own, so every answer is counted wherever it ran.
   */
  route(children?: () => Promise<readonly object[][]>): HttpRoute {
    return {
      path: '/metrics',
      method: 'GET',
      handler: async (_req, res) => {
        const extra = children ? await children() : [];
        const registry =
          extra.length > 0
            ? AggregatorRegistry.aggregate([await this.registry.getMetricsAsJSON(), ...extra])
            : this.registry;
        const body = await registry.metrics();
        res.writeHead(200, { 'content-type': this.registry.contentType }).end(body);
      },
    };
  }
}

export class MeteredAnswerer implements Answerer {
  /** The inner guards' admission, passed through (a refused question is counted when it is answered). */
  readonly admit?: (question: Question) => Promise<Admission>;

  constructor(
    private readonly inner: Answerer,
    private readonly metrics: BotMetrics,
  ) {
    if (inner.admit)
      this.admit = (question) => inner.admit?.(question) ?? Promise.reject(new Error('no guard'));
  }

  async *answer(question: Question, history: readonly Turn[] = []): AsyncGenerator<AnswerEvent> {
    const platform = question.place.platform;
    this.metrics.inFlight.inc();
    let outcome = 'abandoned';
    try {
      for await (const event of this.inner.answer(question, history)) {
        if (event.type === 'done') {
          outcome = 'answered';
          const { timings, usage } = event;
          this.metrics.stageSeconds.observe({ stage: 'retrieval' }, timings.retrievalMs / 1000);
          this.metrics.stageSeconds.observe({ stage: 'first_token' }, timings.firstTokenMs / 1000);
          this.metrics.stageSeconds.observe({ stage: 'total' }, timings.totalMs / 1000);
          if (usage) {
            this.metrics.tokens.inc({ type: 'prompt' }, usage.promptTokens);
            this.metrics.tokens.inc({ type: 'completion' }, usage.completionTokens);
          }
          if (event.degraded) this.metrics.degraded.inc();
        } else if (event.type === 'failure') {
          outcome = event.failure.kind;
          this.metrics.failures.inc({ kind: event.failure.kind, service: event.failure.service ?? 'bot' });
        }
        yield event;
      }
    } finally {
      this.metrics.inFlight.dec();
      this.metrics.questions.inc({ platform, outcome });
    }
  }
}
