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
  /** An answer interrupted by a restart, given back for another instance to finish (DATABASE_URL). */
  answerHandedOver:
    'The bot restarted while writing this answer; it will be finished here in a moment. If it is not, please ask again.',
  /** An answer whose instances kept dying while writing it: ended instead of tried again. */
  answerAbandoned:
    'This answer was cut off twice while the bot restarted, so I stopped trying. Please ask again, perhaps in other words.',
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
  humanLimitedUser: (perHour: number, minutes: number) =>
    `You have asked for a human ${perHour} times in the last hour, so I did not ping the team again. Try again in ${minutes} minute(s), or reply in a thread where they were already asked.`,
  humanLimitedChannel: (perHour: number, minutes: number) =>
    `The team has been asked ${perHour} times from this channel in the last hour, so I did not ping them again. Try again in ${minutes} minute(s), or write to them directly.`,
  humanNotConfigured: 'Asking a human is not set up on this bot (an admin sets the group to mention).',
  humanNoThread:
    'I can only ask a human where the team can see the conversation (not in a private reply or DM).',
  cannotPostHere: 'I could not post in this channel just now. Please try again in a moment.',
  notAMember: (invite: string) =>
    `I can't post in this channel because I'm not a member. Invite me with \`${invite}\` and ask again.`,
  noThreadPermission:
    "I can't create threads in this channel (I'm missing the Create Public Threads permission), so I'll answer here.",
  noFollowUpThread:
    "I couldn't start a thread for follow-ups here (missing the Create Public Threads permission). Mention me to ask more.",
  /** A Discord command the bot does not know, or sent with options its registration no longer has. */
  commandOutOfDate:
    "This command doesn't match what this bot understands: its registration with Discord is out of date (or the command is turned off here). An admin can update the commands with `npm run commands:deploy`.",
  /** A button, menu or form no handler knows (from an older version of the bot, or turned off). */
  componentOutOfDate:
    'This button or form no longer works (it may be from an older version of the bot, or turned off here). Please ask again.',
  /** A Discord command, click or form whose handling failed. */
  interactionFailed: 'Something went wrong while handling that. Please try again in a moment.',
  working: 'Looking through the knowledge base…',
  /** Under an answer: the documents it cites, then those searched but not cited. */
  sourcesHeading: 'Sources',
  alsoSearched: 'Also searched',
  /** Slack's assistant status reads "<app> is …". */
  statusWaiting: 'is still writing the answer…',
  /** Slack assistant-thread status per stage of an answer ("<app> is …"). */
  statusCondensing: 'is reading the conversation…',
  statusSearching: 'is searching the knowledge base…',
  statusWriting: 'is writing the answer…',
  /** "Ask about this message": the modal and the private answer around it. */
  askAboutTitle: 'Ask about this message',
  askAboutLabel: 'Your question about the message',
  askAboutPlaceholder: 'What does this mean? What should I do next?',
  askAboutSubmit: 'Ask',
  askAboutPrivately: 'I will answer privately where the message is; only you will see it until you share it.',
  askAboutExpired: 'That question form expired (or I restarted). Please run "Ask about this message" again.',
  askAboutNoMessage:
    'I could not read that message (it may have been deleted, or I cannot see this channel).',
  shareInThread: 'Share in thread',
  /** The message asked about and its thread, as the sources of an answer. */
  pointedMessage: 'The message you asked about',
  pointedThread: 'Its thread',
  pointedPerson: 'Someone',
  pointedBot: 'The bot',
  shareExpired:
    'That private answer is no longer available to share (it expired or I restarted). Please ask again.',
  shareDone: 'Shared in the thread.',
  shareAlready: 'You already shared this answer.',
  shareNotYours: 'Only the person who asked can share this answer.',
  shareNotAllowed: 'You cannot post in threads there, so I did not share the answer.',
  shareNotHere: 'I cannot post in that thread (I am not a member of the channel). Invite me and share again.',
  /** The Slack App Home tab. */
  homeTitle: 'Knowledge Bot',
  homeKnows: (passages: number, sources: number) =>
    `I answer from *${passages.toLocaleString('en-US')}* passages in *${sources.toLocaleString('en-US')}* sources.`,
  homeEmpty: 'The knowledge base is empty: an admin can add documents with `npm run ingest`.',
  homeUnavailable: 'I could not read the knowledge base just now; answers may fail until it is back.',
  homeSourcesHeading: 'What I know',
  homeMoreSources: (more: number) => `…and ${more.toLocaleString('en-US')} more`,
  homeHowHeading: 'How to ask',
  homeSettingsHeading: 'In this workspace',
  homeHow: [
    '• Open my assistant thread (the ✨ icon at the top of Slack) or send me a direct message.',
    '• Mention me in a channel: `@knowledge-bot how do I …?` — I answer in a thread, and follow-ups there need no mention.',
    '• Type `/ask your question` anywhere I am invited.',
    '• On any message: ⋮ More actions → *Ask about this message*, and I answer privately with that message as context.',
  ].join('\n'),
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
  fileTooComplex: (name: string, why: string) =>
    `I didn't read “${name}”: it is too large or complex to read (${why}), so I answered without it.`,
  /** Why a file was too large or complex: the budget that stopped it. */
  tooComplexBecause: {
    time: (seconds: number) => `reading it takes longer than the ${seconds} s I allow for one file`,
    memory: (mb: number) => `reading it needs more than the ${mb} MB of memory I allow for one file`,
    size: 'it expands to more text than I can read',
  },
  fileReaderFailed: (name: string) =>
    `I couldn't read “${name}” just now (the file reader stopped unexpectedly), so I answered without it; ask again to retry.`,
  fileReaderBusy: (name: string) =>
    `I didn't read “${name}”: too many files are being read right now, so I answered without it; ask again in a minute.`,
  fileOverQuestionBudget: (name: string, budget: string) =>
    `I didn't read “${name}”: the files of one question may take ${budget} in all, so I answered without it.`,
  /** A file with no text; `type` is its extension, so the reason fits what it is. */
  fileEmpty: (name: string, type: string) =>
    type === '.pdf'
      ? `“${name}” has no text I can read (a scanned PDF has only images).`
      : type === '.html' || type === '.htm'
        ? `“${name}” has no text I can read (the page has only markup, scripts or styles).`
        : `“${name}” has no text I can read (it is empty or blank).`,
  fileCut: (name: string) =>
    `“${name}” is longer than I can read for one question, so I used only its beginning.`,
  filesSkipped: (names: readonly string[]) =>
    `I skipped ${names.map((name) => `“${name}”`).join(', ')}: the attached files together are longer than I can read for one question.`,
  tooManyFiles: (max: number, more: number) =>
    `I read only ${max} attached files per question; ${more} more ${more === 1 ? 'was' : 'were'} left out.`,
  filesUnavailable: "I couldn't get the attached files just now, so I answered without them.",
  /** `/kb`: managing the knowledge from the chat. Values we did not write arrive neutralised. */
  kb: {
    help: [
      'Manage the knowledge base:',
      '`/kb add <url> [collection]`: add a source to a collection (default: this channel’s): a docs site, a Git repository, GitHub issues or discussions, a Notion page or a Confluence space',
      '`/kb list`: the sources',
      '`/kb remove <source>`: remove a source (its number or URL) and everything it brought',
      '`/kb status`: collections, sources, last sync and failures',
      '`/kb sync [source]`: re-sync now (every source when none is named)',
      '`/kb use <collection>[,<collection>…]`: what this channel reads (`/kb use reset` goes back to the default)',
      '`/kb learn` / `/kb learn off`: threads of this (public) channel marked ✅ by the asker or an admin (or a forum post tagged solved) become knowledge',
      '`/kb settings`: who "Ask a human" mentions and where the digest is posted, for this workspace or server',
    ].join('\n'),
    notAdmin:
      'Only knowledge-base admins can change the knowledge. Ask an admin of this workspace or server.',
    unknown: (name: string) => `I don't know \`/kb ${name}\`.`,
    problem: (detail: string) => `That didn't work: ${detail}`,
    needsUrl: 'Name the site to add, for example: `/kb add https://docs.example.com/`',
    needsSource: 'Name the source, by its number or URL (see `/kb list`).',
    noSuchSource: (ref: string) => `There is no source ${ref}. See \`/kb list\`.`,
    noSources: 'No sources yet. Add one with `/kb add <url>`.',
    adding: (url: string, collection: string) =>
      `Adding ${url} to the \`${collection}\` collection and reading it now; I'll tell you when it's done.`,
    alreadyAdded: (url: string, collection: string) =>
      `${url} is already a source of \`${collection}\`; syncing it now.`,
    removed: (url: string, pages: number, noun = 'page(s)') =>
      `Removed ${url} and its ${pages} ${noun} from the knowledge base.`,
    syncing: (count: number) => `Syncing ${count} source(s) now; I'll tell you when it's done.`,
    syncBusy: 'A sync is already running; try again when it has finished.',
    sourceBusy: (url: string) => `${url} is being synced already; try again when that sync has finished.`,
    syncOutOfTime: 'stopped at its time limit (the rest follows at the next sync)',
    tooManyRouted: (max: number) =>
      `a channel can read at most ${max} collections (each is searched for every question); name ${max} or fewer`,
    tooManyCollections: (max: number) =>
      `this workspace or server already has ${max} collections of its own, the most it may take from the chat; use one of them, or ask the operator`,
    tooManySources: (max: number) =>
      `this workspace or server already has ${max} sources, the most it may add from the chat (KB_MAX_SOURCES); remove one first with \`/kb remove\``,
    synced: (url: string, parts: string) => `Synced ${url}: ${parts}.`,
    syncFailed: (url: string, reason: string) => `Could not sync ${url}: ${reason}. What it had is kept.`,
    syncCancelled: (url: string) => `Stopped syncing ${url}: it was removed, with everything it had added.`,
    using: (where: string, collections: string) => `This channel (${where}) now reads ${collections}.`,
    usingReset: (collections: string) =>
      `This channel's own setting is removed; it now reads ${collections} (from the configuration).`,
    notInChannel: 'That works in a channel.',
    noTenant: 'this only works in a channel of a workspace or server, not in a direct message',
    sharedCollection: (collection: string) =>
      `other workspaces or servers read \`${collection}\`, so nothing can be added to it from here; name a new collection, or leave the collection out to use this workspace's own`,
    channelReadsShared: (collection: string, own: string) =>
      `this channel reads \`${collection}\`, which other workspaces or servers read too, so nothing from here goes there; name the collection (this workspace's own is \`${own}\`), or route the channel to one of yours with \`/kb use <collection>\``,
    learnOn: (collection: string) =>
      `This channel now learns from its resolved threads: a thread the asker or an admin marks with ✅ (or a forum post tagged solved or closed) is saved to \`${collection}\`, without names, citing the thread; un-marking removes it. \`/kb learn off\` stops.`,
    learnOff:
      'This channel no longer learns from its threads. Threads it learned stay until they are un-marked.',
    notLearning: 'This channel does not learn from its threads (`/kb learn` turns it on).',
    learningStatus: (threads: number) =>
      `This channel learns from its resolved threads (✅ or a solved tag): ${threads} thread(s) learned so far.`,
    learned: (collection: string) =>
      `Saved this resolved thread to \`${collection}\` (this channel learns from its threads). Remove the ✅ to take it out again.`,
    unlearned: 'This thread is no longer marked resolved, so it was taken out of the knowledge base.',
    failed: 'Something went wrong with that /kb command; nothing was lost. Please try again in a moment.',
    /** `/kb settings`: this workspace's or server's hand-off and digest. */
    settingsHeading: 'Settings of this workspace or server:',
    settingsHelp: [
      '`/kb settings`: show them',
      '`/kb settings handoff <user group or role>`: who "Ask a human" mentions (`off` to stop offering it)',
      '`/kb settings digest <channel>`: where the digest of unanswered and voted-down questions is posted (`off` to stop)',
    ].join('\n'),
    settingsNotHere: 'Settings belong to a workspace or server: run `/kb settings` in one of its channels.',
    unknownSetting: (word: string) => `There is no setting \`${word}\`.`,
    settingNeedsValue: (setting: 'handoff' | 'digest') =>
      setting === 'handoff'
        ? 'Name the user group or role "Ask a human" should mention, or `off`.'
        : 'Name the channel the digest should be posted in, or `off`.',
    handoffLabel: 'Ask a human',
    digestLabel: 'Digest',
    settingChosen: (target: string) => `${target} (set with /kb settings)`,
    settingFromEnvironment: (target: string, variable: string) => `${target} (from ${variable})`,
    handoffUnset: 'not set, so the "Ask a human" button is not offered (`/kb settings handoff …`)',
    digestUnset: 'not set, so no digest is posted for this workspace (`/kb settings digest …`)',
    settingSet: (setting: 'handoff' | 'digest', target: string) =>
      setting === 'handoff'
        ? `"Ask a human" now mentions ${target}.`
        : `The digest will be posted in ${target}.`,
    settingCleared: (setting: 'handoff' | 'digest', fallback: string | undefined) =>
      setting === 'handoff'
        ? fallback
          ? `This workspace's hand-off group is removed; "Ask a human" mentions ${fallback} again.`
          : 'This workspace\'s hand-off group is removed: "Ask a human" is no longer offered.'
        : fallback
          ? `This workspace's digest channel is removed; the digest goes to ${fallback} again.`
          : "This workspace's digest channel is removed: no digest is posted for it.",
  },
  /** Saving a thread as knowledge. */
  save: {
    notAllowed: 'Only knowledge-base admins can save threads as knowledge here.',
    saved: (collection: string, messages: number) =>
      `Saved this thread (${messages} message(s)) to the \`${collection}\` knowledge collection. Later answers can cite it.`,
    savedPart: (collection: string, saved: number, total: number) =>
      `Saved this thread to the \`${collection}\` knowledge collection: ${saved} of its ${total} messages (its first and its newest; the ones in between were left out). Later answers can cite it.`,
    nothing: 'There is nothing in this thread to save.',
    failed: 'I could not save this thread just now. Please try again in a moment.',
    tooLarge: (why: string) =>
      `This thread is too large to save as knowledge (${why}). Save a shorter thread, or ask the operator to raise PARSE_MAX_CHARS.`,
  },
} as const;
