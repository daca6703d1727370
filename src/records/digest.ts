/**
 * The digest: the report of the last period posted to a channel on each platform, once per
 * period however many instances run (a claimed row in app.db is the lock), each item with a
 * "Save as knowledge" action when a human answered in one of its threads on that platform.
 */
import type { Logger } from '../log.js';
import {
  buildReport,
  describeOutcomes,
  oneLine,
  type QuestionGroup,
  type Report,
  type ReportThread,
} from './report.js';
import type { AnswerRecords, StoredAnswer } from './store.js';

export type DigestSchedule = 'weekly' | 'daily';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** Digests are posted at 09:00 UTC (on Mondays for weekly ones). */
const POST_HOUR_UTC = 9;

export interface DigestPeriod {
  /** Names the period in the claim table, e.g. "weekly:2026-11-23". */
  readonly key: string;
  readonly from: number;
  readonly to: number;
}

/** The latest period whose posting time has come at `now`. */
export function duePeriod(schedule: DigestSchedule, now: number): DigestPeriod {
  const today = new Date(now);
  let at = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate(), POST_HOUR_UTC);
  if (schedule === 'weekly') {
    const sinceMonday = (new Date(at).getUTCDay() + 6) % 7;
    at -= sinceMonday * DAY_MS;
  }
  const length = schedule === 'weekly' ? 7 * DAY_MS : DAY_MS;
  if (at > now) at -= length;
  return { key: `${schedule}:${new Date(at).toISOString().slice(0, 10)}`, from: at - length, to: at };
}

export interface DigestItem {
  readonly group: QuestionGroup;
  /** A thread on this destination's platform where a person (not the bot, not the asker) replied. */
  readonly humanAnswered?: ReportThread;
}

export interface Digest {
  readonly title: string;
  readonly report: Report;
  readonly unanswered: readonly DigestItem[];
  readonly votedDown: readonly DigestItem[];
}

/** A channel the digest goes to, with that platform's way of reading and posting. */
export interface DigestDestination {
  /** Unique per channel, e.g. "slack:C0123"; names the claim. */
  readonly name: string;
  readonly platform: string;
  /**
   * Which answers this channel may show: its own platform and workspace or server, never direct
   * conversations or private answers, so the digest never carries a question to people who
   * could not see it where it was asked.
   */
  scope(): Promise<(answer: StoredAnswer) => boolean>;
  /** Whether someone other than the bot and the asker replied in the thread. */
  humanReplied(thread: ReportThread): Promise<boolean>;
  /** The workspace or server the channel belongs to, where the platform says. */
  workspace?(): Promise<string | undefined>;
  post(digest: Digest): Promise<void>;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "7 questions in 3 groups (top 2 shown)": a list's size, whatever the platform. */
export function listSize(total: number, unit: string, groups: number, shown: number): string {
  return `${plural(total, unit)} in ${plural(groups, 'group')}${shown < groups ? ` (top ${shown} shown)` : ''}`;
}

/** One of the digest's lists as every platform shows it: a title, its size, each item's detail. */
export interface DigestSection {
  readonly title: string;
  readonly size: string;
  readonly items: readonly DigestItem[];
  detail(item: DigestItem): string;
}

/** The questions not answered, then the answers voted down (with reasons cut to `reasonChars`). */
export function digestSections(digest: Digest, reasonChars: number): DigestSection[] {
  const { report } = digest;
  return [
    {
      title: 'Not answered',
      size: listSize(report.notAnswered, 'question', report.unanswered.length, digest.unanswered.length),
      items: digest.unanswered,
      detail: (item) => describeOutcomes(item.group.outcomes),
    },
    {
      title: 'Voted down',
      size: listSize(
        report.feedback.answersVotedDown,
        'answer',
        report.votedDown.length,
        digest.votedDown.length,
      ),
      items: digest.votedDown,
      detail: ({ group }) =>
        group.reasons.length
          ? `reasons: ${group.reasons.map((r) => `"${oneLine(r, reasonChars)}"`).join('; ')}`
          : '',
    },
  ];
}

/** Items per list in a digest: chat messages have room for a short list, the report for all. */
export const DIGEST_ITEMS = 10;
/** Threads read per item when looking for a human answer (newest first). */
const THREADS_CHECKED = 3;

async function items(
  groups: readonly QuestionGroup[],
  destination: DigestDestination,
  log: Logger,
): Promise<DigestItem[]> {
  const out: DigestItem[] = [];
  for (const group of groups.slice(0, DIGEST_ITEMS)) {
    const candidates = group.threads
      .filter((t) => t.platform === destination.platform && t.channelId && t.threadId)
      .slice(0, THREADS_CHECKED);
    let humanAnswered: ReportThread | undefined;
    for (const candidate of candidates) {
      const replied = await destination.humanReplied(candidate).catch((error: unknown) => {
        log.debug({ err: error, destination: destination.name }, 'could not read a thread for the digest');
        return false;
      });
      if (replied) {
        humanAnswered = candidate;
        break;
      }
    }
    out.push({ group, ...(humanAnswered ? { humanAnswered } : {}) });
  }
  return out;
}

export async function buildDigest(
  report: Report,
  destination: DigestDestination,
  schedule: DigestSchedule,
  log: Logger,
): Promise<Digest> {
  const span = `${report.period.from.slice(0, 10)} – ${report.period.to.slice(0, 10)}`;
  return {
    title: `${schedule === 'weekly' ? 'Weekly' : 'Daily'} knowledge digest, ${span}`,
    report,
    unanswered: await items(report.unanswered, destination, log),
    votedDown: await items(report.votedDown, destination, log),
  };
}

export interface DigestSchedulerOptions {
  readonly store: AnswerRecords;
  /**
   * Where digests go: fixed, or looked up at each check (channels workspaces choose with
   * `/kb settings` come and go while the bot runs).
   */
  readonly destinations: readonly DigestDestination[] | (() => Promise<readonly DigestDestination[]>);
  readonly schedule: DigestSchedule;
  readonly log: Logger;
  readonly now?: () => number;
  /** How often to check whether a digest is due (default every 15 minutes). */
  readonly checkEveryMs?: number;
  /**
   * A claim shared by instances on other hosts (each host has its own app.db): true for the
   * first caller of a key. npm start passes the Redis-backed dedupe store when REDIS_URL is set
   * and the records are per host; records in PostgreSQL need none (their claim is shared).
   */
  readonly sharedClaim?: (key: string, ttlMs: number) => Promise<boolean>;
}

/**
 * Posts each due digest once. `tick()` is the whole job (tests call it with their clock);
 * `start()` runs it now and on a timer that never keeps the process alive.
 */
export class DigestScheduler {
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(private readonly options: DigestSchedulerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Posts every digest that is due and unclaimed; returns how many were posted. */
  tick(): Promise<number> {
    this.running ??= this.postDue().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.checkEveryMs ?? 15 * 60 * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async postDue(): Promise<number> {
    const { store, log, schedule } = this.options;
    const period = duePeriod(schedule, this.now());
    let posted = 0;
    const { destinations } = this.options;
    let list: readonly DigestDestination[];
    try {
      list = typeof destinations === 'function' ? await destinations() : destinations;
    } catch (error) {
      log.warn({ err: error }, 'could not list where digests go; trying again at the next check');
      return 0;
    }
    for (const destination of list) {
      if (!(await store.claimDigest(destination.name, period.key, this.now()))) continue;
      const shared = await this.claimShared(`${destination.name}:${period.key}`, period);
      if (!shared) {
        // Another host posts this one; remembered here so this host stops asking.
        await store.digestPosted(destination.name, period.key, this.now());
        continue;
      }
      try {
        const report = await buildReport(store, period, undefined, await destination.scope());
        if (report.questions === 0) {
          await store.digestPosted(destination.name, period.key, this.now());
          log.info(
            { destination: destination.name, period: period.key },
            'no questions in the period; no digest',
          );
          continue;
        }
        await destination.post(await buildDigest(report, destination, schedule, log));
        await store.digestPosted(destination.name, period.key, this.now());
        posted += 1;
        log.info({ destination: destination.name, period: period.key }, 'digest posted');
      } catch (error) {
        // Given back, so a later check (here or on another instance) tries again.
        await store.releaseDigest(destination.name, period.key).catch(() => undefined);
        log.warn(
          { err: error, destination: destination.name, period: period.key },
          'could not post the digest',
        );
      }
    }
    return posted;
  }

  private async claimShared(key: string, period: DigestPeriod): Promise<boolean> {
    if (!this.options.sharedClaim) return true;
    try {
      return await this.options.sharedClaim(`digest:${key}`, period.to - period.from + DAY_MS);
    } catch (error) {
      this.options.log.warn({ err: error }, 'could not claim the digest across instances; posting from here');
      return true;
    }
  }
}

/** Ways of asking whose answers only the asker saw: they stay out of every digest. */
const PRIVATE_VIAS = new Set(['message-command', 'message-shortcut', 'command-private', 'dm']);

/**
 * The digest scope of a channel on `platform` in `workspaceId` (when known): questions asked
 * where everyone in the workspace or server could see them, as recorded when they were
 * answered. A private channel's, a DM's, a shared channel's, a private thread's (or one whose
 * audience was never recorded, as before it was kept) is never shown to a wider audience.
 */
export function digestScope(platform: string, workspaceId: string | undefined) {
  return (answer: StoredAnswer): boolean =>
    answer.platform === platform &&
    answer.audience === 'everyone' &&
    !answer.direct &&
    !PRIVATE_VIAS.has(answer.via ?? '') &&
    (workspaceId === undefined || answer.workspaceId === undefined || answer.workspaceId === workspaceId);
}
