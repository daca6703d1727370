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
} as const;
