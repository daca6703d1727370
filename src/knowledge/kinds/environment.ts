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

/** `GIT_TOKEN_HOSTS`: `github.com,gitlab.example.com` → the hosts GIT_TOKEN is sent to. */
export function parseTokenHosts(value: string | undefined): Set<string> {
  const hosts = new Set<string>();
  for (const entry of (value ?? '').split(',')) {
    const host = entry.trim().toLowerCase();
    if (!host) continue;
    if (!/^[a-z0-9.-]+$/.test(host)) {
      throw new Error(
        `each entry must be a host name like gitlab.example.com (${JSON.stringify(host)} is not)`,
      );
    }
    hosts.add(host);
  }
  return hosts;
}

/** True for an address that never leaves the machine (a token may go there over http). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * The token for a Git host, and the variable it came from (named in errors, never its value).
 * A host's entry may give the user name too, `user:token` (a Bitbucket API token goes with
 * `x-bitbucket-api-token-auth`, an app password with its account's name). GIT_TOKEN goes only
 * to the hosts listed in GIT_TOKEN_HOSTS: a repository URL is whatever a user typed into
 * `/kb add`, so a token sent to any host would go to an attacker's as readily.
 */
export function gitToken(
  hostname: string,
  env: Environment,
): { readonly token?: string; readonly username?: string; readonly variable: string } {
  const host = hostname.toLowerCase();
  const perHost = parseHostTokens(env.GIT_HOST_TOKENS).get(host);
  if (perHost) {
    const colon = perHost.indexOf(':');
    const variable = `GIT_HOST_TOKENS (${hostname})`;
    return colon > 0
      ? { token: perHost.slice(colon + 1), username: perHost.slice(0, colon), variable }
      : { token: perHost, variable };
  }
  const token = env.GIT_TOKEN?.trim();
  if (token && parseTokenHosts(env.GIT_TOKEN_HOSTS).has(host)) return { token, variable: 'GIT_TOKEN' };
  return {
    variable: `GIT_HOST_TOKENS (${hostname}=<token>), or GIT_TOKEN with ${hostname} in GIT_TOKEN_HOSTS`,
  };
}
