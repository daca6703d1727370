/** What the offline answerer writes for a question and its passages, as one string. */
import type { GenerationRequest, Passage } from '../../src/core/types.js';
import { ExtractiveGenerator } from '../../src/generators/extractive.js';

export async function offlineAnswer(
  question: string,
  passages: readonly Passage[],
  more: Partial<Pick<GenerationRequest, 'purpose' | 'history' | 'deciding'>> = {},
): Promise<string> {
  const request: GenerationRequest = {
    purpose: more.purpose ?? 'answer',
    messages: [],
    question,
    passages,
    history: more.history ?? [],
    ...(more.deciding ? { deciding: more.deciding } : {}),
  };
  let text = '';
  for await (const chunk of new ExtractiveGenerator().generate(request))
    if (chunk.type === 'text') text += chunk.text;
  return text;
}
