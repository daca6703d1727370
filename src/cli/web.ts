/**
 * `npm run web`: the web chat on its own, with the same answering machinery as the terminal
 * (Groq or offline extracts, Upstash or the embedded store) and the platforms' rate and
 * concurrency limits. Serves the page on PORT (default 3000) and prints its URL.
 *   npm run web
 *   PORT=8080 WEB_CHAT_ORIGINS=https://docs.example.com npm run web
 */
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { composeBot } from '../app/compose.js';
import { loadConfig } from '../config.js';
import { startHttpServer } from '../http/server.js';
import { createLogger } from '../log.js';
import { createWebChat, webChatOptions } from '../web/index.js';
import { runCommand } from './run.js';

const USAGE = `Serve the web chat: a page to ask the knowledge base in a browser.

  npm run web                     serves on PORT (default 3000) and prints the URL
  npm run web -- --host 0.0.0.0   serves other machines too (this machine alone by default;
                                  set WEB_CHAT_PUBLIC_URL to the address they use)

Embed it on another site with <script src="http://HOST:PORT/widget.js" async></script>
after listing that site in WEB_CHAT_ORIGINS. Set WEB_CHAT_TOKEN to require an access token.
Configuration comes from .env and the environment (see .env.example).`;

/** A local tool: it answers this machine alone unless told which address to serve. */
const LOOPBACK = '127.0.0.1';

async function main(): Promise<number> {
  let host = LOOPBACK;
  try {
    const args = parseArgs({
      options: { help: { type: 'boolean', short: 'h' }, host: { type: 'string' } },
    });
    if (args.values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    host = args.values.host ?? LOOPBACK;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const config = loadConfig();
  const logger = createLogger({
    level: process.env.LOG_LEVEL ? config.log.level : 'warn',
    format: process.env.LOG_FORMAT ? config.log.format : 'pretty',
  });
  const bot = await composeBot(config, logger, { onSeed: (message) => process.stderr.write(`${message}\n`) });
  const chat = createWebChat(webChatOptions(config, bot.conversations, logger));
  const server = await startHttpServer(config.http.port, chat.routes, host ? { host } : {});
  const { port } = server.address() as AddressInfo;
  process.stderr.write(`rag-chat-bot · ${bot.runtime.describe()}\n`);
  process.stdout.write(`Web chat: http://localhost:${port}/\n`);
  if (config.web.allowedOrigins.length > 0) {
    process.stdout.write(
      `Widget for ${config.web.allowedOrigins.join(', ')}: http://localhost:${port}/widget.js\n`,
    );
  }

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stderr.write('Stopping: finishing answers in progress…\n');
  const closeServer = {
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  await bot.stop([closeServer]);
  return 0;
}

runCommand(main, { exitNow: true });
