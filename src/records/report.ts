/**
 * What the records say about a period: how many questions came, how many were answered, the
 * votes, and the questions the bot failed (not answered, or voted down) grouped by
 * similarity with links to their threads. `npm run report` prints it; the digest posts it.
 */
import { DEFAULT_SIMILARITY, groupSimilar } from './similarity.js';
import type { AnswerRecords, StoredAnswer, StoredVote } from './store.js';

export interface ReportThread {
  readonly questionId: string;
  readonly platform: string;
  readonly workspaceId?: string;
  readonly channelId?: string;
  readonly threadId?: string;
  /** The asker's pseudonym, to tell their own replies from a helper's. */
  readonly askerId?: string;
  readonly askedAt: string;
  readonly link?: string;
  /** Someone clicked "Ask a human" under this answer. */
  readonly askedHuman: boolean;
}

export interface QuestionGroup {
  /** The most recent wording in the group, or undefined when RECORD_TEXT=false. */
  readonly question?: string;
  readonly count: number;
  /** Why the questions were not answered (for the unanswered list), by failure kind. */
  readonly outcomes: Readonly<Record<string, number>>;
  /** 👎 reasons given (for the voted-down list). */
  readonly reasons: readonly string[];
  readonly lastAskedAt: string;
  /** Newest first. */
  readonly threads: readonly ReportThread[];
}

export interface Report {
  readonly period: { readonly from: string; readonly to: string };
  readonly questions: number;
  readonly answered: number;
  readonly notAnswered: number;
  /** answered / questions, or null when there were no questions. */
  readonly answerRate: number | null;
  /** Answers written offline because the model was unavailable. */
  readonly degraded: number;
  readonly feedback: {
    readonly up: number;
    readonly down: number;
    readonly answersVotedUp: number;
    readonly answersVotedDown: number;
    readonly reasons: number;
    readonly askedHuman: number;
  };
  readonly unanswered: readonly QuestionGroup[];
  readonly votedDown: readonly QuestionGroup[];
}

const iso = (ms: number) => new Date(ms).toISOString();

function thread(answer: StoredAnswer): ReportThread {
  return {
    questionId: answer.questionId,
    platform: answer.platform,
    ...(answer.workspaceId ? { workspaceId: answer.workspaceId } : {}),
    ...(answer.channelId ? { channelId: answer.channelId } : {}),
    ...(answer.threadId ? { threadId: answer.threadId } : {}),
    ...(answer.askerId ? { askerId: answer.askerId } : {}),
    askedAt: iso(answer.askedAt),
    ...(answer.link ? { link: answer.link } : {}),
    askedHuman: answer.escalatedAt !== undefined,
  };
}

function groups(
  answers: readonly StoredAnswer[],
  votes: ReadonlyMap<string, readonly StoredVote[]>,
  threshold: number,
): QuestionGroup[] {
  const newestFirst = [...answers].sort((a, b) => b.askedAt - a.askedAt);
  const grouped = groupSimilar(
    newestFirst.map((answer) => ({
      answer,
      hash: answer.questionHash,
      ...(answer.question ? { text: answer.question } : {}),
    })),
    threshold,
  );
  return grouped
    .map((members) => {
      const outcomes: Record<string, number> = {};
      const reasons: string[] = [];
      for (const { answer } of members) {
        if (answer.outcome !== 'answered') outcomes[answer.outcome] = (outcomes[answer.outcome] ?? 0) + 1;
        for (const vote of votes.get(answer.questionId) ?? [])
          if (vote.vote === 'down' && vote.reason) reasons.push(vote.reason);
      }
      const first = members[0]!.answer;
      return {
        ...(first.question ? { question: first.question } : {}),
        count: members.length,
        outcomes,
        reasons,
        lastAskedAt: iso(first.askedAt),
        threads: members.map(({ answer }) => thread(answer)),
      };
    })
    .sort((a, b) => b.count - a.count || b.lastAskedAt.localeCompare(a.lastAskedAt));
}

export async function buildReport(
  store: AnswerRecords,
  period: { readonly from: number; readonly to: number },
  threshold = DEFAULT_SIMILARITY,
  /** Which answers the report may show (a digest shows only its own platform's and space's). */
  include: (answer: StoredAnswer) => boolean = () => true,
): Promise<Report> {
  const answers = (await store.answers(period.from, period.to)).filter(include);
  const shown = new Set(answers.map((answer) => answer.questionId));
  const votesByAnswer = new Map<string, StoredVote[]>();
  for (const vote of await store.votes(period.from, period.to)) {
    if (!shown.has(vote.questionId)) continue;
    votesByAnswer.set(vote.questionId, [...(votesByAnswer.get(vote.questionId) ?? []), vote]);
  }
  const allVotes = [...votesByAnswer.values()].flat();
  const answered = answers.filter((answer) => answer.outcome === 'answered');
  const failed = answers.filter((answer) => answer.outcome !== 'answered');
  const hasVote = (answer: StoredAnswer, vote: 'up' | 'down') =>
    (votesByAnswer.get(answer.questionId) ?? []).some((v) => v.vote === vote);
  const votedDown = answers.filter((answer) => hasVote(answer, 'down'));
  return {
    period: { from: iso(period.from), to: iso(period.to) },
    questions: answers.length,
    answered: answered.length,
    notAnswered: failed.length,
    answerRate: answers.length === 0 ? null : answered.length / answers.length,
    degraded: answered.filter((answer) => answer.degraded).length,
    feedback: {
      up: allVotes.filter((v) => v.vote === 'up').length,
      down: allVotes.filter((v) => v.vote === 'down').length,
      answersVotedUp: answers.filter((answer) => hasVote(answer, 'up')).length,
      answersVotedDown: votedDown.length,
      reasons: allVotes.filter((v) => v.vote === 'down' && v.reason).length,
      askedHuman: answers.filter((answer) => answer.escalatedAt !== undefined).length,
    },
    unanswered: groups(failed, votesByAnswer, threshold),
    votedDown: groups(votedDown, votesByAnswer, threshold),
  };
}

/** Words for each failure kind, as a team lead would say them. */
export const OUTCOME_WORDS: Readonly<Record<string, string>> = {
  nothing_found: 'nothing found',
  empty_answer: 'model wrote nothing',
  misconfigured: 'misconfigured',
  rate_limited: 'rate limited',
  unavailable: 'service unavailable',
  timeout: 'timed out',
  interrupted: 'interrupted',
  slow_down: 'asker slowed down',
  busy: 'bot busy',
  shutting_down: 'restarting',
  internal: 'bot error',
  undelivered: 'not delivered',
};

export const percent = (rate: number | null) => (rate === null ? '–' : `${Math.round(rate * 100)}%`);

export function describeOutcomes(outcomes: Readonly<Record<string, number>>): string {
  return Object.entries(outcomes)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, count]) => `${OUTCOME_WORDS[kind] ?? kind} ×${count}`)
    .join(', ');
}

/** The figures line both the terminal report and the digests open with. */
export function figures(report: Report): string[] {
  const f = report.feedback;
  return [
    `Questions: ${report.questions} · answered ${report.answered} (${percent(report.answerRate)}) · not answered ${report.notAnswered}${report.degraded ? ` · offline stand-ins ${report.degraded}` : ''}`,
    `Feedback: 👍 ${f.up} · 👎 ${f.down} (on ${f.answersVotedDown} answer${f.answersVotedDown === 1 ? '' : 's'}, ${f.reasons} with a reason) · asked a human ${f.askedHuman}`,
  ];
}

const day = (isoTime: string) => isoTime.slice(0, 10);

/** The report as plain text for a terminal. Question text is shown as data, one line each. */
export function formatReport(report: Report): string {
  const lines = [
    `Answers from ${day(report.period.from)} to ${day(report.period.to)} (UTC)`,
    ...figures(report).map((l) => `  ${l}`),
  ];
  const list = (
    title: string,
    groupsOf: readonly QuestionGroup[],
    unit: string,
    detail: (g: QuestionGroup) => string,
  ) => {
    const total = groupsOf.reduce((sum, g) => sum + g.count, 0);
    lines.push(
      '',
      `${title} (${total} ${unit}${total === 1 ? '' : 's'} in ${groupsOf.length} group${groupsOf.length === 1 ? '' : 's'})`,
    );
    if (groupsOf.length === 0) lines.push('  none');
    for (const group of groupsOf) {
      const wording = group.question ? `"${oneLine(group.question)}"` : '(question text not kept)';
      const extra = detail(group);
      lines.push(`  ${group.count}× ${wording}${extra ? `  [${extra}]` : ''}`);
      for (const t of group.threads) {
        lines.push(
          `     ${t.link ?? `${t.platform} ${[t.channelId, t.threadId].filter(Boolean).join(' / ') || '(direct)'}`}${t.askedHuman ? '  (asked a human)' : ''}`,
        );
      }
    }
  };
  list('Not answered', report.unanswered, 'question', (g) => describeOutcomes(g.outcomes));
  list('Voted down', report.votedDown, 'answer', (g) =>
    g.reasons.length ? `reasons: ${g.reasons.map((r) => `"${oneLine(r)}"`).join('; ')}` : '',
  );
  return `${lines.join('\n')}\n`;
}

/** Control characters and line breaks out, so a question cannot forge report lines. */
export function oneLine(text: string, max = 200): string {
  const flat = text
    .replace(/\p{Cc}+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
