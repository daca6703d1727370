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
  thanksForReason: 'Thanks, the team will read your reason with this answer.',
  /** The 👎 reason form. */
  reasonTitle: 'What was wrong?',
  reasonLabel: 'What was wrong with this answer? (optional, one line)',
  reasonPlaceholder: 'e.g. out of date, wrong product, did not answer the question',
  askHuman: 'Ask a human',
  /** Posted in the thread with the group's mention: the one deliberate ping. */
  humanWanted: (mention: string) =>
    `${mention} someone here would like a person to help with this question; the answer above did not settle it.`,
  humanAsked: 'Done: I asked the team in this thread. Someone will reply here.',
  humanAlreadyAsked: 'The team was already asked about this answer; someone will reply in this thread.',
  humanNotConfigured: 'Asking a human is not set up on this bot (an admin sets the group to mention).',
  humanNoThread:
    'I can only ask a human where the team can see the conversation (not in a private reply or DM).',
  saveNotConfigured:
    'Saving threads as knowledge is not configured on this bot yet, so nothing was saved. An admin can add the thread’s answer to the knowledge folder and run npm run ingest.',
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
