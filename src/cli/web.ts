/**
 * `npm run web`: the web chat on its own, with the same answering machinery as the terminal
 * (Groq or offline extracts, Upstash or the embedded store) and the platforms' rate and
 * concurrency limits. Serves the page on PORT (default 3000) and prints its URL.
 *   npm run web
 *   PORT=8080 WEB_CHAT_ORIGINS=https://docs.example.com npm run web
 */
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { guardAnswerer } from '../app/guarded.js';
import { buildRuntime } from '../app/runtime.js';
import { loadConfig } from '../config.js';
import { startHttpServer } from '../http/server.js';
import { createLogger } from '../log.js';
import { createSharedState } from '../ops/shared-state.js';
import { createWebChat, webChatEnv } from '../web/index.js';
import { runCommand } from './run.js';

const USAGE = `Serve the web chat: a page to ask the knowledge base in a browser.

  npm run web                     serves on PORT (default 3000) and prints the URL

Embed it on another site with <script src="http://HOST:PORT/widget.js" async></script>
after listing that site in WEB_CHAT_ORIGINS. Set WEB_CHAT_TOKEN to require an access token.
Configuration comes from .env and the environment (see .env.example).`;

async function main(): Promise<number> {
  try {
    const args = parseArgs({ options: { help: { type: 'boolean', short: 'h' } } });
    if (args.values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const config = loadConfig();
  const web = webChatEnv();
  const logger = createLogger({
    level: process.env.LOG_LEVEL ? config.log.level : 'warn',
    format: process.env.LOG_FORMAT ? config.log.format : 'pretty',
  });
  const runtime = await buildRuntime(config, {
    logger,
    onSeed: (message) => process.stderr.write(`${message}\n`),
  });
  const shared = await createSharedState(config.limits.redisURL, logger);
  const { answerer, draining } = guardAnswerer(runtime.answerer, config, shared.rates);
  const chat = createWebChat({
    answerer,
    allowedOrigins: web.allowedOrigins,
    ...(web.token ? { token: web.token } : {}),
    logger,
  });
  const server = await startHttpServer(config.http.port, chat.routes);
  const { port } = server.address() as AddressInfo;
  process.stderr.write(`rag-chat-bot · ${runtime.describe()}\n`);
  process.stdout.write(`Web chat: http://localhost:${port}/\n`);
  if (web.allowedOrigins.length > 0) {
    process.stdout.write(`Widget for ${web.allowedOrigins.join(', ')}: http://localhost:${port}/widget.js\n`);
  }

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stderr.write('Stopping: finishing answers in progress…\n');
  await draining.drain(config.limits.shutdownGraceMs);
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await shared.close();
  return 0;
}

runCommand(main, { exitNow: true });
