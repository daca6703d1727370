/**
 * In-process sliding-window limit per client, for the web chat's API. It guards the HTTP
 * surface itself (feedback, malformed requests); the answerer's own per-user limits still
 * apply to questions behind it.
 */

export interface RateDecisionResult {
  readonly allowed: boolean;
  /** Whole seconds until the next request would be allowed (0 when allowed). */
  readonly retryAfterSeconds: number;
}

const WINDOW_MS = 60_000;
/** Clients remembered at most; the oldest idle ones are forgotten first. */
const MAX_CLIENTS = 10_000;

export class ClientRateLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  hit(client: string): RateDecisionResult {
    if (this.perMinute <= 0) return { allowed: true, retryAfterSeconds: 0 };
    const now = this.now();
    const recent = (this.hits.get(client) ?? []).filter((at) => now - at < WINDOW_MS);
    if (recent.length >= this.perMinute) {
      this.remember(client, recent);
      const oldest = recent[0] ?? now;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + WINDOW_MS - now) / 1000)) };
    }
    recent.push(now);
    this.remember(client, recent);
    return { allowed: true, retryAfterSeconds: 0 };
  }

  private remember(client: string, recent: number[]): void {
    // Re-inserting keeps the Map in least-recently-used order, so eviction drops idle clients.
    this.hits.delete(client);
    this.hits.set(client, recent);
    if (this.hits.size > MAX_CLIENTS) {
      const idle = this.hits.keys().next().value;
      if (idle !== undefined) this.hits.delete(idle);
    }
  }
}
