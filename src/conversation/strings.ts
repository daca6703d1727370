/**
 * Every sentence the front ends say themselves, so Slack, Discord, the web chat and the
 * terminal word things alike. The core's failure messages live with the failures
 * (src/core/failures.ts); these are the ones about the conversation around an answer.
 */
export const strings = {
  usage: (example: string) => `Ask a question after the command, for example: \`${example}\``,
  emptyMention: 'Ask me a question after the mention, or use `/ask`.',
  notEnabledHere: 'I am not enabled in this channel. Ask an admin, or try a channel where I am.',
  deliveryFailed: 'Something went wrong while posting the answer. Please try again.',
  thanksUp: 'Thanks, glad it helped!',
  thanksDown: 'Thanks for telling us; the team will look at this answer.',
  cannotPostHere: 'I could not post in this channel just now. Please try again in a moment.',
  notAMember: (invite: string) =>
    `I can't post in this channel because I'm not a member. Invite me with \`${invite}\` and ask again.`,
  noThreadPermission:
    "I can't create threads in this channel (I'm missing the Create Public Threads permission), so I'll answer here.",
  noFollowUpThread:
    "I couldn't start a thread for follow-ups here (missing the Create Public Threads permission). Mention me to ask more.",
  working: 'Looking through the knowledge base…',
  /** Slack's assistant status reads "<app> is …". */
  statusWorking: 'is looking through the knowledge base…',
  statusWaiting: 'is still writing the answer…',
  /** The question asked when a file arrives with no words. */
  aboutTheFile: 'What does the attached file say? Summarize it.',
  // Files attached to a question: one line each, `name` already made safe for the platform.
  fileUnsupported: (name: string) =>
    `I can't read “${name}”: I read text, Markdown, PDF, JSON, CSV, HTML and log files.`,
  fileTooLarge: (name: string, limitMB: string) =>
    `I didn't read “${name}”: it is over the ${limitMB} MB limit for attached files.`,
  fileDownloadFailed: (name: string, reason: string) =>
    `I couldn't download “${name}” (${reason}), so I answered without it.`,
  fileUnreadable: (name: string, reason: string) => `I couldn't read “${name}”: ${reason}.`,
  fileEmpty: (name: string) => `“${name}” has no text I can read (a scanned PDF has only images).`,
  fileCut: (name: string) =>
    `“${name}” is longer than I can read for one question, so I used only its beginning.`,
  filesSkipped: (names: readonly string[]) =>
    `I skipped ${names.map((name) => `“${name}”`).join(', ')}: the attached files together are longer than I can read for one question.`,
  tooManyFiles: (max: number, more: number) =>
    `I read only ${max} attached files per question; ${more} more ${more === 1 ? 'was' : 'were'} left out.`,
  filesUnavailable: "I couldn't get the attached files just now, so I answered without them.",
} as const;
