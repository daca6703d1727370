/**
 * The `Link` response header (RFC 8288) as GitHub and Confluence send it for pagination:
 * `<https://api…?page=2>; rel="next", <…>; rel="last"`. Read by a small scanner rather than
 * by splitting on commas, since a URL may hold commas (`?keys=A,B`) and a `rel` may list
 * several relations (`rel="next last"`) or come unquoted.
 */

/** The target of the link whose relations include `rel`, or undefined. */
export function linkWithRel(header: string | null | undefined, rel: string): string | undefined {
  if (!header) return undefined;
  const wanted = rel.toLowerCase();
  let at = 0;
  while (at < header.length) {
    const open = header.indexOf('<', at);
    if (open < 0) return undefined;
    const close = header.indexOf('>', open + 1);
    if (close < 0) return undefined;
    const target = header.slice(open + 1, close).trim();
    // Parameters run to the next comma outside a quoted string.
    let end = close + 1;
    let quoted = false;
    for (; end < header.length; end++) {
      const char = header[end];
      if (char === '"') quoted = !quoted;
      else if (char === ',' && !quoted) break;
    }
    for (const parameter of header.slice(close + 1, end).split(';')) {
      const equals = parameter.indexOf('=');
      if (equals < 0 || parameter.slice(0, equals).trim().toLowerCase() !== 'rel') continue;
      const value = parameter
        .slice(equals + 1)
        .trim()
        .replace(/^"|"$/g, '');
      if (value.toLowerCase().split(/\s+/).includes(wanted)) return target;
    }
    at = end + 1;
  }
  return undefined;
}

/** The next page's URL from a `Link` header. */
export function nextLink(header: string | null | undefined): string | undefined {
  return linkWithRel(header, 'next');
}
