/** Web origins as browsers send them in the Origin header, for WEB_CHAT_ORIGINS. */

/** A single web origin, normalised the way browsers send it in the Origin header. */
export function normaliseOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new Error(`"${value.trim()}" is not an origin like https://docs.example.com`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`"${value.trim()}" must start with https:// or http://`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username) {
    throw new Error(`"${value.trim()}" must be an origin only (scheme://host[:port]), with no path`);
  }
  return url.origin;
}

/** WEB_CHAT_ORIGINS: a comma-separated list of origins; every bad entry is reported. */
export function parseOrigins(value: string | undefined): string[] {
  const entries = (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const problems: string[] = [];
  const origins: string[] = [];
  for (const entry of entries) {
    try {
      origins.push(normaliseOrigin(entry));
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
  return [...new Set(origins)];
}
