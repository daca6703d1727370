/**
 * The embed script: `<script src="https://bot.example/widget.js" async></script>` on another
 * site adds a button in a corner that opens the chat in a panel. The chat runs in an iframe
 * of the bot's own page, so the host page's CSS and scripts and the chat's stay apart; the
 * bot's Content-Security-Policy (frame-ancestors, from WEB_CHAT_ORIGINS) decides which sites
 * may show it.
 *
 * Optional attributes on the script tag:
 *   data-label="Ask the docs"   the button's text
 *   data-position="left"        bottom-left instead of bottom-right
 *   data-token="…"              access token, for private deployments behind WEB_CHAT_TOKEN
 */
(() => {
  /** Sites allowed to embed the chat (WEB_CHAT_ORIGINS), filled in by the server as it serves this file. */
  const ALLOWED_ORIGINS = '__ALLOWED_ORIGINS__'.split(' ').filter(Boolean);
  const script = document.currentScript;
  if (!(script instanceof HTMLScriptElement) || document.getElementById('rag-chat-launcher')) return;
  const origin = new URL(script.src).origin;
  // The browser would refuse to show the chat here anyway (frame-ancestors); say why instead of a broken panel.
  if (location.origin !== origin && !ALLOWED_ORIGINS.includes(location.origin)) {
    console.warn(`The chat at ${origin} does not allow ${location.origin}: add it to WEB_CHAT_ORIGINS.`);
    return;
  }
  const label = script.dataset.label || 'Ask a question';
  const side = script.dataset.position === 'left' ? 'left' : 'right';
  const token = script.dataset.token;

  const launcher = document.createElement('button');
  launcher.id = 'rag-chat-launcher';
  launcher.type = 'button';
  launcher.textContent = `💬 ${label}`;
  launcher.setAttribute('aria-expanded', 'false');
  Object.assign(launcher.style, {
    position: 'fixed',
    bottom: '1rem',
    [side]: '1rem',
    zIndex: '2147483000',
    padding: '0.6rem 1rem',
    border: '0',
    borderRadius: '999px',
    background: '#2f5bea',
    color: '#fff',
    font: '600 15px system-ui, sans-serif',
    boxShadow: '0 4px 14px rgba(0,0,0,0.2)',
    cursor: 'pointer',
  });

  const panel = document.createElement('div');
  panel.id = 'rag-chat-panel';
  panel.hidden = true;
  Object.assign(panel.style, {
    position: 'fixed',
    bottom: '4.5rem',
    [side]: '1rem',
    zIndex: '2147483000',
    width: 'min(400px, calc(100vw - 2rem))',
    height: 'min(600px, calc(100vh - 6rem))',
    borderRadius: '0.75rem',
    overflow: 'hidden',
    boxShadow: '0 8px 30px rgba(0,0,0,0.25)',
    background: '#fff',
  });

  /** The iframe is created on first open, so a page that never opens the chat never loads it. */
  function frame() {
    const existing = panel.querySelector('iframe');
    if (existing) return existing;
    const iframe = document.createElement('iframe');
    iframe.id = 'rag-chat-frame';
    iframe.title = label;
    iframe.src = `${origin}/?embed=1${token ? `#token=${encodeURIComponent(token)}` : ''}`;
    Object.assign(iframe.style, { width: '100%', height: '100%', border: '0' });
    panel.append(iframe);
    return iframe;
  }

  /** @param {boolean} open */
  function toggle(open) {
    if (open) frame();
    panel.hidden = !open;
    panel.style.display = open ? 'block' : 'none';
    launcher.setAttribute('aria-expanded', String(open));
  }

  launcher.addEventListener('click', () => toggle(panel.hidden));
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !panel.hidden) toggle(false);
  });
  toggle(false);
  const mount = () => document.body.append(panel, launcher);
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount, { once: true });
})();
