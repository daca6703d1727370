/**
 * What `npm start` needs from each chat platform adapter. Adapters translate platform events
 * into questions and conversations for the conversation layer and offer the platform's
 * primitives; they know nothing of Groq or Upstash.
 */

export interface PlatformAdapter {
  readonly name: string;
  /** Connects (gateway, socket or HTTP listener). Rejects with a clear message on bad credentials. */
  start(): Promise<void>;
  /** Stops taking new questions; in-flight answers are the caller's to drain. */
  stop(): Promise<void>;
  /** True while connected and able to receive questions (for /readyz). */
  isReady(): boolean;
}
