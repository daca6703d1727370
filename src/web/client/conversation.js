/**
 * The tab's conversation: the questions asked and the answers received, oldest first. It is
 * the only memory of the chat (the server keeps none), trimmed to what the server accepts.
 */

/**
 * @typedef {{ role: 'user' | 'assistant', text: string }} Turn
 * @typedef {{ maxHistoryTurns: number, maxTurnChars: number, maxBodyBytes: number }} Limits
 */

export class Conversation {
  /** @type {Turn[]} */
  #turns = [];
  /** @type {Limits} */
  #limits;

  /** @param {Limits} limits */
  constructor(limits) {
    this.#limits = limits;
  }

  /**
   * Records one answered exchange; unanswered questions are not part of the context.
   * @param {string} question
   * @param {string} answer
   */
  add(question, answer) {
    this.#turns.push({ role: 'user', text: question }, { role: 'assistant', text: answer });
  }

  clear() {
    this.#turns = [];
  }

  /**
   * The latest turns that fit the server's limits: each cut to the longest turn it takes,
   * as many as it takes, starting with a question.
   * @returns {Turn[]}
   */
  history() {
    const { maxHistoryTurns, maxTurnChars } = this.#limits;
    let recent = this.#turns.slice(-maxHistoryTurns);
    if (recent[0]?.role === 'assistant') recent = recent.slice(1);
    return recent.map((turn) => ({
      role: turn.role,
      text: turn.text.length > maxTurnChars ? `${turn.text.slice(0, maxTurnChars - 1)}…` : turn.text,
    }));
  }

  /**
   * The request body for a question with this history, dropping the oldest exchanges
   * until it fits the server's size limit.
   * @param {string} question
   * @param {string} tabId
   * @returns {string}
   */
  requestBody(question, tabId) {
    const encoder = new TextEncoder();
    let history = this.history();
    for (;;) {
      const body = JSON.stringify({ question, history, tabId });
      if (history.length === 0 || encoder.encode(body).length <= this.#limits.maxBodyBytes) return body;
      history = history.slice(2);
    }
  }
}
