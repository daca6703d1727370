/**
 * Renders the model's markdown as HTML that cannot run anything: raw HTML is escaped as text,
 * images are not rendered (they would load from other origins), and only http(s) and mailto
 * links become links, opening in a new tab without access to this page.
 */

const SAFE_LINK = /^(https?:|mailto:)/i;

/**
 * @param {typeof import('./vendor/markdown-it.js').default} markdownit
 * @returns {{ render(text: string): string }}
 */
export function createRenderer(markdownit) {
  const md = markdownit({ html: false, linkify: true, breaks: false, typographer: false });
  md.disable('image');
  md.validateLink = (url) => SAFE_LINK.test(url.trim());
  md.renderer.rules.link_open = (tokens, index, options, _env, self) => {
    const token = tokens[index];
    if (token) {
      token.attrSet('target', '_blank');
      token.attrSet('rel', 'noopener noreferrer');
    }
    return self.renderToken(tokens, index, options);
  };
  return { render: (text) => md.render(text) };
}
