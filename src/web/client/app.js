/**
 * The chat page: sends each question with the tab's conversation, shows the answer as it
 * streams (markdown rendered safely), its numbered sources, 👍/👎, Stop, and every failure as
 * the bot's own friendly message.
 */
import { Conversation } from './conversation.js';
import { createRenderer } from './markdown.js';
import { readEvents } from './stream.js';
import markdownit from './vendor/markdown-it.js';

/** @typedef {import('./stream.js').WireSource} WireSource */

const STAGES = /** @type {Record<string, string>} */ ({
  condensing: 'Reading the conversation…',
  retrieving: 'Searching the knowledge base…',
  generating: 'Writing the answer…',
  // The model has not started yet (the core says so every few seconds).
  waiting: 'Still working on it…',
});
const UNREACHABLE = 'The chat could not reach the bot. Check your connection and try again.';
const ENDED_EARLY = 'The answer ended unexpectedly. Please try again.';
const STOPPED = 'Stopped. Ask again for a complete answer.';
const THANKS = {
  up: 'Thanks, glad it helped!',
  down: 'Thanks for telling us; the team will look at this answer.',
};
const TOKEN_KEY = 'rag-chat-token';
const TAB_KEY = 'rag-chat-tab';

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
function byId(id, type) {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`the page has no #${id}`);
  return element;
}

/**
 * @param {string} tag
 * @param {string} className
 * @param {string} [text]
 */
function element(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function readLimits() {
  const meta = document.querySelector('meta[name="rag-chat-limits"]');
  return JSON.parse(meta?.getAttribute('content') ?? '{}');
}

/** A token given in the URL fragment (the widget passes it so) is kept for this tab only and removed from the address bar. */
function takeTokenFromFragment() {
  const match = /^#token=([^&]+)/.exec(location.hash);
  if (!match?.[1]) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
  history.replaceState(null, '', location.pathname + location.search);
}

function tabId() {
  let id = sessionStorage.getItem(TAB_KEY);
  if (!id) {
    id = crypto.randomUUID();
    sessionStorage.setItem(TAB_KEY, id);
  }
  return id;
}

const renderer = createRenderer(markdownit);
const conversation = new Conversation(readLimits());
const log = byId('log', HTMLElement);
const form = byId('ask', HTMLFormElement);
const input = byId('question', HTMLTextAreaElement);
const send = byId('send', HTMLButtonElement);
const stop = byId('stop', HTMLButtonElement);
const tokenForm = byId('token-form', HTMLFormElement);
const tokenInput = byId('token', HTMLInputElement);
const tokenLabel = byId('token-label', HTMLLabelElement);
/** @type {AbortController | undefined} */
let answering;
/** @type {string | undefined} */
let waitingForToken;

function scrollToEnd() {
  log.scrollTop = log.scrollHeight;
}

/** One answer on the page: its text as it streams, sources, feedback, and how it ended. */
class AnswerView {
  constructor() {
    this.root = element('article', 'msg bot');
    this.root.dataset.state = 'waiting';
    // Screen readers hear the answer once it is complete, not every streamed word.
    this.root.setAttribute('aria-busy', 'true');
    this.status = element('p', 'status', 'Sending…');
    this.body = element('div', 'answer');
    this.sources = element('section', 'sources');
    this.sources.hidden = true;
    this.root.append(this.status, this.body, this.sources);
    log.append(this.root);
    this.text = '';
    this.renderQueued = false;
    /** @type {{ sources: WireSource[], alsoSearched: WireSource[] }} Shown under the text once it ends. */
    this.pendingSources = { sources: [], alsoSearched: [] };
    /** @type {string | undefined} */
    this.questionId = undefined;
  }

  /** @param {string} stage */
  stage(stage) {
    this.status.textContent = STAGES[stage] ?? '';
  }

  /** @param {string} text */
  append(text) {
    this.text += text;
    this.root.dataset.state = 'streaming';
    this.status.textContent = '';
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => this.render());
  }

  render() {
    this.renderQueued = false;
    // Safe by construction: the renderer escapes HTML and drops unsafe links (see markdown.js).
    this.body.innerHTML = renderer.render(this.text);
    scrollToEnd();
  }

  /**
   * Sources arrive before the text (all the answer is written from) and again at its end
   * (those it cites, and the others as "also searched"); the latest are kept.
   * @param {WireSource[]} sources
   * @param {WireSource[]} [alsoSearched]
   */
  keepSources(sources, alsoSearched = []) {
    this.pendingSources = { sources, alsoSearched };
  }

  /** Under the text, when there is any: an answer that ended with no text cites nothing. */
  revealSources() {
    if (this.text) this.showSources(this.pendingSources.sources, this.pendingSources.alsoSearched);
  }

  /**
   * @param {WireSource[]} sources
   * @param {WireSource[]} [alsoSearched]
   */
  showSources(sources, alsoSearched = []) {
    const list = element('ol', '');
    list.append(
      ...sources.map((source) => {
        const item = /** @type {HTMLLIElement} */ (element('li', 'source'));
        item.value = source.index;
        const url = source.url && /^https?:\/\//i.test(source.url) ? source.url : undefined;
        if (url) {
          const link = /** @type {HTMLAnchorElement} */ (element('a', '', source.title));
          link.href = url;
          link.target = '_blank';
          link.rel = 'noopener noreferrer';
          item.append(link);
        } else item.append(element('span', '', source.title));
        if (source.sections?.length)
          item.append(element('span', 'sections', ` (${source.sections.join(' · ')})`));
        const where = url ? new URL(url).hostname : source.source;
        if (where !== source.title) item.append(element('span', 'where', ` — ${where}`));
        return item;
      }),
    );
    const parts = [element('h2', '', 'Sources'), list];
    if (alsoSearched.length > 0) {
      parts.push(
        element('p', 'also', `Also searched: ${alsoSearched.map((source) => source.title).join(', ')}`),
      );
    }
    this.sources.replaceChildren(...parts);
    this.sources.hidden = sources.length === 0;
  }

  /** @param {string} text */
  finish(text) {
    this.text = text;
    this.render();
    this.revealSources();
    this.root.dataset.state = 'done';
    this.root.removeAttribute('aria-busy');
    this.status.textContent = '';
    if (this.questionId) this.root.append(feedbackButtons(this.questionId));
  }

  /**
   * @param {string} message
   * @param {'failed' | 'stopped'} state
   */
  fail(message, state = 'failed') {
    if (this.text) this.render();
    // A stopped or cut-off answer keeps its sources beside the text that arrived.
    this.revealSources();
    this.root.dataset.state = state;
    this.root.removeAttribute('aria-busy');
    this.status.textContent = '';
    const note = element('p', state === 'stopped' ? 'note' : 'failure', message);
    if (state === 'failed') note.setAttribute('role', 'alert');
    this.root.append(note);
    scrollToEnd();
  }
}

/** @param {string} questionId */
function feedbackButtons(questionId) {
  const box = element('div', 'feedback');
  const vote = /** @param {'up' | 'down'} value */ async (value) => {
    for (const button of box.querySelectorAll('button')) button.disabled = true;
    try {
      const response = await api(
        '/api/feedback',
        JSON.stringify({ questionId, vote: value, tabId: tabId() }),
      );
      box.replaceChildren(
        element('span', 'thanks', response.ok ? THANKS[value] : await errorMessage(response)),
      );
    } catch {
      box.replaceChildren(element('span', 'thanks', UNREACHABLE));
    }
  };
  for (const [value, label, title] of /** @type {const} */ ([
    ['up', '👍', 'Helpful'],
    ['down', '👎', 'Not helpful'],
  ])) {
    const button = /** @type {HTMLButtonElement} */ (element('button', 'vote', label));
    button.type = 'button';
    button.dataset.vote = value;
    button.title = title;
    button.setAttribute('aria-label', title);
    button.addEventListener('click', () => void vote(value));
    box.append(button);
  }
  return box;
}

/**
 * @param {string} path
 * @param {string} body
 * @param {AbortSignal} [signal]
 */
function api(path, body, signal) {
  /** @type {Record<string, string>} */
  const headers = { 'content-type': 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(path, { method: 'POST', headers, body, ...(signal ? { signal } : {}) });
}

/** @param {Response} response */
async function errorMessage(response) {
  try {
    const body = await response.json();
    if (typeof body?.message === 'string') return body.message;
  } catch {
    // not JSON: fall through to the generic message
  }
  return UNREACHABLE;
}

/** @param {boolean} busy */
function setBusy(busy) {
  send.hidden = busy;
  stop.hidden = !busy;
  input.disabled = busy;
  if (!busy) input.focus();
}

/** @param {string} question */
async function ask(question) {
  document.getElementById('hint')?.remove();
  log.append(element('article', 'msg user', question));
  const view = new AnswerView();
  scrollToEnd();
  const controller = new AbortController();
  answering = controller;
  setBusy(true);
  try {
    const response = await api('/api/chat', conversation.requestBody(question, tabId()), controller.signal);
    if (response.status === 401) {
      const rejected = sessionStorage.getItem(TOKEN_KEY) !== null;
      sessionStorage.removeItem(TOKEN_KEY);
      tokenLabel.textContent = rejected
        ? 'That access token was not accepted. Please check it.'
        : 'This chat needs an access token.';
      view.root.remove();
      waitingForToken = question;
      log.lastElementChild?.remove();
      tokenForm.hidden = false;
      tokenInput.focus();
      return;
    }
    if (!response.ok || !response.body) {
      view.fail(await errorMessage(response));
      return;
    }
    let ended = false;
    for await (const event of readEvents(response.body)) {
      if (event.type === 'start') {
        view.questionId = event.questionId;
        view.root.dataset.questionId = event.questionId;
      } else if (event.type === 'status') view.stage(event.stage);
      else if (event.type === 'sources') view.keepSources(event.sources, event.alsoSearched);
      else if (event.type === 'delta') view.append(event.text);
      else if (event.type === 'done') {
        ended = true;
        view.finish(event.text);
        conversation.add(question, event.text);
      } else if (event.type === 'failure') {
        ended = true;
        view.fail(event.message);
      }
    }
    if (!ended) view.fail(ENDED_EARLY);
  } catch (error) {
    if (controller.signal.aborted) view.fail(STOPPED, 'stopped');
    else view.fail(error instanceof SyntaxError ? ENDED_EARLY : UNREACHABLE);
  } finally {
    answering = undefined;
    setBusy(false);
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const question = input.value.trim();
  if (!question || answering) return;
  input.value = '';
  void ask(question);
});

input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});

stop.addEventListener('click', () => answering?.abort());

tokenForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = tokenInput.value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  tokenInput.value = '';
  tokenForm.hidden = true;
  const question = waitingForToken;
  waitingForToken = undefined;
  if (question) void ask(question);
});

byId('new-chat', HTMLButtonElement).addEventListener('click', () => {
  answering?.abort();
  conversation.clear();
  log.replaceChildren();
  input.focus();
});

if (new URLSearchParams(location.search).has('embed')) document.body.classList.add('embedded');
takeTokenFromFragment();
input.focus();
