/**
 * Whether the real servers the suite talks to (PostgreSQL, Redis) must be there. In CI they
 * must: a test that skipped for want of its server would pass without testing anything.
 */
export function requireServices(): boolean {
  const ci = (process.env.CI ?? '').toLowerCase();
  return ci !== '' && ci !== 'false' && ci !== '0';
}
