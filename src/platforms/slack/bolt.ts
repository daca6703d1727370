/**
 * Bolt's App, HTTP receiver, Assistant and errors, loaded from their own modules. The package entry also
 * loads the Express and AWS Lambda receivers and their dependencies, which this bot never
 * uses and which cost about 6 MB of resident memory in every process that talks to Slack.
 * The Socket Mode receiver and the OAuth installer load when a bot in those modes first uses
 * them (src/ops/deferred-module.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type * as Bolt from '@slack/bolt';
import { deferModule } from '../../ops/deferred-module.js';

const require = createRequire(import.meta.url);

const httpReceiverPath = require.resolve('@slack/bolt/dist/receivers/HTTPReceiver.js');
deferModule(require.resolve('@slack/bolt/dist/receivers/SocketModeReceiver.js'));
deferModule(createRequire(httpReceiverPath).resolve('@slack/oauth'));

const app = require('@slack/bolt/dist/App.js') as {
  default: typeof Bolt.App;
  LogLevel: typeof Bolt.LogLevel;
};
const receiver = require(httpReceiverPath) as {
  default: typeof Bolt.HTTPReceiver;
};
const errors = require('@slack/bolt/dist/errors.js') as {
  AuthorizationError: typeof Bolt.AuthorizationError;
};
const assistant = require('@slack/bolt/dist/Assistant.js') as { Assistant: typeof Bolt.Assistant };
// Already loaded by the HTTP receiver.
const httpFunctions = require('@slack/bolt/dist/receivers/HTTPModuleFunctions.js') as {
  defaultDispatchErrorHandler: (args: Bolt.ReceiverDispatchErrorHandlerArgs) => void;
};

export const App = app.default;
export type App = Bolt.App;
export const HTTPReceiver = receiver.default;
export type HTTPReceiver = Bolt.HTTPReceiver;
export const AuthorizationError = errors.AuthorizationError;
export const LogLevel = app.LogLevel;
export const Assistant = assistant.Assistant;
export type Assistant = Bolt.Assistant;

/** What Bolt's own server answers when routing a request failed: 404 for an unknown path, else 500. */
export function dispatchErrorResponse(
  error: unknown,
  request: IncomingMessage,
  response: ServerResponse,
  logger: Bolt.Logger,
): void {
  httpFunctions.defaultDispatchErrorHandler({
    error: error as Error,
    logger,
    request,
    response,
  });
}
