/**
 * SLACK_SUGGESTED_PROMPTS: the prompts Slack shows when someone opens the bot's assistant
 * thread, written `title|message;title|message`. Slack shows at most four; a title is what
 * the button says, the message is what is sent when it is clicked.
 */
export interface SuggestedPrompt {
  readonly title: string;
  readonly message: string;
}

/** Slack's own limit for assistant.threads.setSuggestedPrompts. */
export const MAX_SUGGESTED_PROMPTS = 4;

export const DEFAULT_SUGGESTED_PROMPTS: readonly SuggestedPrompt[] = [
  { title: 'What can you answer?', message: 'What topics does the knowledge base cover?' },
  { title: 'How do I ask you things?', message: 'How do I ask you a question in Slack?' },
];

/** Parses the variable; throws one message naming every malformed entry. */
export function parseSuggestedPrompts(raw: string | undefined): readonly SuggestedPrompt[] {
  if (raw === undefined || raw.trim() === '') return DEFAULT_SUGGESTED_PROMPTS;
  const entries = raw
    .split(';')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const problems: string[] = [];
  const prompts = entries.flatMap((entry, i) => {
    const cut = entry.indexOf('|');
    const title = cut < 0 ? '' : entry.slice(0, cut).trim();
    const message = cut < 0 ? '' : entry.slice(cut + 1).trim();
    if (!title || !message) {
      problems.push(`entry ${i + 1} ("${entry.slice(0, 40)}") must be "title|message"`);
      return [];
    }
    return [{ title, message }];
  });
  if (entries.length > MAX_SUGGESTED_PROMPTS) {
    problems.push(`Slack shows at most ${MAX_SUGGESTED_PROMPTS} prompts; ${entries.length} were given`);
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
  return prompts;
}
