/**
 * `npm run ask`: the terminal experience of the original rag_run.py, on the shared core.
 *   npm run ask                  interactive: "You: " prompt, exit/quit or Ctrl-D to leave
 *   npm run ask -- "question"    one question; exit 0 on an answer, 1 on failure, 2 on bad setup
 */
import { parseArgs } from 'node:util';
import { buildRuntime, type Runtime } from '../app/runtime.js';
import { loadConfig } from '../config.js';
import { type AnswerOutcome, answerInConversation } from '../conversation/answer.js';
import type { Turn } from '../core/types.js';
import { createLogger, type Logger } from '../log.js';
import { runPromptLoop } from './prompt-loop.js';
import { runCommand } from './run.js';
import { styleFor, type TerminalOutput, terminalConversation } from './terminal-conversation.js';

const USAGE = `Ask the knowledge base from the terminal.

  npm run ask                      interactive; type exit or quit (or Ctrl-D) to leave
  npm run ask -- "your question"   one question, then exit

Configuration comes from .env and the environment (see .env.example).`;

const out: TerminalOutput = {
  write: (text) => process.stdout.write(text),
  error: (text) => process.stderr.write(text),
};

/** One question through the shared conversation layer, rendered in this terminal. */
async function askOnce(
  runtime: Runtime,
  logger: Logger,
  text: string,
  history: readonly Turn[],
  signal?: AbortSignal,
): Promise<AnswerOutcome> {
  const conversation = terminalConversation(out, styleFor(process.stdout), history);
  return answerInConversation(
    conversation,
    text,
    { answerer: runtime.answerer, log: logger },
    { history, ...(signal ? { signal } : {}) },
  );
}

async function interactive(runtime: Runtime, logger: Logger): Promise<void> {
  await runPromptLoop({
    input: process.stdin,
    output: process.stdout,
    ask: (text, history, signal) => askOnce(runtime, logger, text, history, signal),
  });
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs({ allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const config = loadConfig();
  // The terminal is for answers: only warnings and errors are logged unless LOG_LEVEL says otherwise.
  const logger = createLogger({
    level: process.env.LOG_LEVEL ? config.log.level : 'warn',
    format: process.env.LOG_FORMAT ? config.log.format : 'pretty',
  });
  const runtime = await buildRuntime(config, {
    logger,
    onSeed: (message) => process.stderr.write(`${message}\n`),
  });
  process.stderr.write(`rag-chat-bot · ${runtime.describe()}\n`);

  if (args.positionals.length > 0) {
    const outcome = await askOnce(runtime, logger, args.positionals.join(' '), []);
    return outcome.ok ? 0 : 1;
  }
  await interactive(runtime, logger);
  return 0;
}

runCommand(main);
