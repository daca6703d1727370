/**
 * The variables source kinds read at sync time (tokens and API locations), declared and
 * validated with the knowledge area's settings (../settings.ts) and handed to the knowledge
 * service, so each process and each test passes its own. Secrets are never logged or shown
 * (`/kb list` shows sources' URLs only).
 */
import type { Environment } from './kind.js';

/** `GIT_HOST_TOKENS`: `gitlab.example.com=glpat-…,github.com=ghp_…` → host → token. */
export function parseHostTokens(value: string | undefined): Map<string, string> {
  const tokens = new Map<string, string>();
  if (!value?.trim()) return tokens;
  for (const entry of value.split(',')) {
    if (!entry.trim()) continue;
    const equals = entry.indexOf('=');
    const host = equals > 0 ? entry.slice(0, equals).trim().toLowerCase() : '';
    const token = equals > 0 ? entry.slice(equals + 1).trim() : '';
    // The message names the entry by its host only: a token is never echoed.
    if (!host || !token || !/^[a-z0-9.-]+$/.test(host)) {
      throw new Error(`each entry must look like host=token (entry ${tokens.size + 1} does not)`);
    }
    tokens.set(host, token);
  }
  return tokens;
}

/**
 * The token for a Git host, and the variable it came from (named in errors, never its value).
 * A host's entry may give the user name too, `user:token` (a Bitbucket API token goes with
 * `x-bitbucket-api-token-auth`, an app password with its account's name).
 */
export function gitToken(
  hostname: string,
  env: Environment,
): { readonly token?: string; readonly username?: string; readonly variable: string } {
  const perHost = parseHostTokens(env.GIT_HOST_TOKENS).get(hostname.toLowerCase());
  if (perHost) {
    const colon = perHost.indexOf(':');
    const variable = `GIT_HOST_TOKENS (${hostname})`;
    return colon > 0
      ? { token: perHost.slice(colon + 1), username: perHost.slice(0, colon), variable }
      : { token: perHost, variable };
  }
  const token = env.GIT_TOKEN?.trim();
  return { ...(token ? { token } : {}), variable: 'GIT_TOKEN' };
}
