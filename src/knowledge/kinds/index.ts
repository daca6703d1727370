/**
 * Every source kind, in the order a URL is offered to them: the first that recognises it
 * reads it. Web sites come last, since any http(s) URL is one. A new connector is one module
 * and one line here.
 */
import { confluenceKind } from './confluence.js';
import { gitKind } from './git.js';
import { githubKind } from './github.js';
import { type Environment, SourceError, type SourceKind } from './kind.js';
import { notionKind } from './notion.js';
import { type WebSettings, webKind } from './web.js';

export function sourceKinds(web: WebSettings): readonly SourceKind[] {
  return [githubKind, confluenceKind, notionKind, gitKind, webKind(web)];
}

/** The kind that reads `raw` and the source's canonical URL; throws `SourceError` for a URL none reads. */
export function recogniseSource(
  kinds: readonly SourceKind[],
  raw: string,
  env: Environment,
): { readonly kind: SourceKind; readonly url: string } {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new SourceError(`"${raw.slice(0, 200)}" is not a URL`);
  }
  if (url.username || url.password) {
    throw new SourceError(
      'a source URL must not carry a user name or password; tokens come from the environment',
    );
  }
  for (const kind of kinds) {
    const canonical = kind.recognise(url, env);
    if (canonical !== undefined) return { kind, url: canonical };
  }
  throw new SourceError(
    `no source kind reads ${url.protocol} URLs (web sites, Git repositories, GitHub, Notion and Confluence are http(s))`,
  );
}

export function kindNamed(kinds: readonly SourceKind[], name: string): SourceKind | undefined {
  return kinds.find((kind) => kind.name === name);
}
