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
  /** `/kb`: managing the knowledge from the chat. Values we did not write arrive neutralised. */
  kb: {
    help: [
      'Manage the knowledge base:',
      '`/kb add <url> [collection]`: crawl a docs site into a collection (default: this channel’s)',
      '`/kb list`: the web sources',
      '`/kb remove <source>`: remove a source (its number or URL) and its pages',
      '`/kb status`: collections, sources, last sync and failures',
      '`/kb sync [source]`: re-sync now (every source when none is named)',
      '`/kb use <collection>[,<collection>…]`: what this channel reads (`/kb use reset` goes back to the default)',
    ].join('\n'),
    notAdmin:
      'Only knowledge-base admins can change the knowledge. Ask an admin of this workspace or server.',
    unknown: (name: string) => `I don't know \`/kb ${name}\`.`,
    problem: (detail: string) => `That didn't work: ${detail}`,
    needsUrl: 'Name the site to add, for example: `/kb add https://docs.example.com/`',
    needsSource: 'Name the source, by its number or URL (see `/kb list`).',
    noSuchSource: (ref: string) => `There is no source ${ref}. See \`/kb list\`.`,
    noSources: 'No web sources yet. Add one with `/kb add <url>`.',
    adding: (url: string, collection: string) =>
      `Adding ${url} to the \`${collection}\` collection and crawling it now; I'll tell you when it's done.`,
    alreadyAdded: (url: string, collection: string) =>
      `${url} is already a source of \`${collection}\`; syncing it now.`,
    removed: (url: string, pages: number) =>
      `Removed ${url} and its ${pages} page(s) from the knowledge base.`,
    syncing: (count: number) => `Syncing ${count} source(s) now; I'll tell you when it's done.`,
    syncBusy: 'A sync is already running; try again when it has finished.',
    synced: (url: string, parts: string) => `Synced ${url}: ${parts}.`,
    syncFailed: (url: string, reason: string) => `Could not sync ${url}: ${reason}. What it had is kept.`,
    using: (where: string, collections: string) => `This channel (${where}) now reads ${collections}.`,
    usingReset: (collections: string) =>
      `This channel's own setting is removed; it now reads ${collections} (from the configuration).`,
    notInChannel: '`/kb use` works in a channel.',
    failed: 'Something went wrong with that /kb command; nothing was lost. Please try again in a moment.',
  },
  /** Saving a thread as knowledge. */
  save: {
    notAllowed: 'Only knowledge-base admins can save threads as knowledge here.',
    saved: (collection: string, messages: number) =>
      `Saved this thread (${messages} message(s)) to the \`${collection}\` knowledge collection. Later answers can cite it.`,
    nothing: 'There is nothing in this thread to save.',
    failed: 'I could not save this thread just now. Please try again in a moment.',
  },
} as const;
