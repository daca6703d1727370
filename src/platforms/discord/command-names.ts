/** Names shared by the command definitions (commands/ask.ts) and the handlers that answer them. */
export const ASK_COMMAND = 'ask';
/** The message context command, shown under Apps on a message's menu. */
export const ASK_ABOUT_COMMAND = 'Ask about this message';
/** The message command that saves a thread as knowledge. */
export const SAVE_TO_KNOWLEDGE_COMMAND = 'Save to knowledge base';
