/**
 * Reads the server's NDJSON answer stream: one event object per line, yielded as each line
 * arrives so the page can show the answer while it is written.
 */

/**
 * @typedef {{ index: number, title: string, source: string, url?: string, sections?: string[] }} WireSource
 * @typedef {{ type: 'start', questionId: string }
 *   | { type: 'status', stage: string }
 *   | { type: 'sources', sources: WireSource[], alsoSearched?: WireSource[] }
 *   | { type: 'delta', text: string }
 *   | { type: 'done', text: string, degraded: boolean }
 *   | { type: 'failure', kind: string, message: string }} WireEvent
 */

/**
 * @param {string} line
 * @returns {WireEvent}
 */
function parse(line) {
  return JSON.parse(line);
}

/**
 * @param {ReadableStream<Uint8Array>} body
 * @returns {AsyncGenerator<WireEvent>}
 */
export async function* readEvents(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) yield parse(line);
        newline = buffered.indexOf('\n');
      }
    }
    buffered += decoder.decode();
    if (buffered.trim()) yield parse(buffered);
  } finally {
    reader.releaseLock();
  }
}
