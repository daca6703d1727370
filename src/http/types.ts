/**
 * An HTTP route served on PORT (health, metrics, the web chat, Slack's events). The shape
 * matches Bolt's `customRoutes`, so the same routes work with or without Slack's receiver.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface HttpRoute {
  readonly path: string;
  readonly method: 'GET' | 'POST';
  handler(req: IncomingMessage, res: ServerResponse): void | Promise<void>;
}
