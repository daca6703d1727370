/** The conversation layer over a given answerer, as the composition root builds it, for adapter tests. */
import { ConversationLayer } from '../../src/conversation/layer.js';
import type { AnswerRecorder } from '../../src/conversation/recording.js';
import type { Answerer } from '../../src/core/types.js';
import { type Logger, silentLogger } from '../../src/log.js';
import { type DedupeStore, MemoryDedupeStore } from '../../src/ops/shared-state.js';
import type { EditClock } from '../../src/render/throttled-edits.js';

export function layerOver(
  answerer: Answerer,
  options: {
    dedupe?: DedupeStore;
    logger?: Logger;
    clock?: EditClock;
    maxQuestionChars?: number;
    recorder?: AnswerRecorder;
  } = {},
): ConversationLayer {
  return new ConversationLayer({
    answerer,
    log: options.logger ?? silentLogger,
    dedupe: options.dedupe ?? new MemoryDedupeStore(),
    maxQuestionChars: options.maxQuestionChars ?? 2_000,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.recorder ? { recorder: options.recorder } : {}),
  });
}
