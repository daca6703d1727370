/**
 * Which sources are read with the operator's own credentials, so that where tenants are kept
 * apart the chat can be held to the workspaces and servers allowed to use them (see
 * KnowledgeService.mayUseOperatorCredentials). A kind not listed here is assumed to use them:
 * a new connector is closed to tenants until it says otherwise.
 */
import { gitToken } from './kinds/environment.js';
import type { Environment } from './kinds/kind.js';

const set = (value: string | undefined) => Boolean(value?.trim());

export function readsWithOperatorCredentials(kind: string, url: URL, env: Environment): boolean {
  switch (kind) {
    case 'web':
      return false;
    case 'git':
      return set(gitToken(url.hostname, env).token);
    case 'github':
      return set(env.GITHUB_TOKEN);
    case 'notion':
      return set(env.NOTION_TOKEN);
    case 'confluence':
      return set(env.CONFLUENCE_TOKEN);
    default:
      return true;
  }
}
