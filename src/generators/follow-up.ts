/**
 * Rewrites a follow-up into a standalone question without a model, for the offline answerer.
 * Gluing the previous question to the follow-up retrieves the previous answer again ("How do I
 * add the bot to Slack?" + "and how do I remove it?" still says "add"), so instead:
 *   - a pronoun ("it", "that", "them", …) is replaced by what the previous question was about
 *     ("how do I remove the bot to Slack"), so its verb no longer steers retrieval;
 *   - "what about Discord?" swaps the previous question's last name for the new one
 *     ("How do I add the bot to Discord?");
 *   - a follow-up that names its own subject stands as it is;
 *   - one with a single word of its own ("and the metrics?") keeps that word and the names the
 *     previous question was about ("Slack", "p-queue"), not its other words;
 *   - only one with nothing to go on ("why?", "more details") is joined to the previous question.
 */

const LEADING_FILLER = /^(?:(?:and|but|so|also|then|ok|okay|well|now)\b[\s,]*)+/i;
const REFERENCE = /\b(it|its|that|this|them|they|those|these|one|there)\b/i;
const QUESTION_SCAFFOLD =
  /^(?:how|what|where|when|why|which|who|can|could|should|would|do|does|is|are)\b(?:\s+(?:do|does|can|could|should|would|will|is|are|to))?(?:\s+(?:i|we|you|one))?\s+/i;
const DETERMINER = /^(?:the|a|an|my|our|your|their|this|that|these|those|all|every|each|some)\b/i;
const WHAT_ABOUT = /^(?:what|how)\s+about\s+(.+)$/is;
const WORDLESS = new Set(
  'how what where when why which who can could should would do does did is are was were the a an to of in on for with it this that more details detail please again example examples explain elaborate tell me about and or'.split(
    ' ',
  ),
);

function clean(text: string): string {
  return text
    .trim()
    .replace(/(?<![?!.\s])[?!.\s]+$/u, '')
    .trim();
}

/** What a question is about: "How do I add the bot to Slack?" → "the bot to Slack". */
export function questionSubject(question: string): string {
  const body = clean(question).replace(QUESTION_SCAFFOLD, '');
  const words = body.split(/\s+/);
  // "add the bot to Slack": drop the verb when a determiner follows it.
  if (words.length >= 3 && DETERMINER.test(words[1] ?? '')) return words.slice(1).join(' ');
  return body;
}

function ownWords(text: string): number {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter(
    (word) => word.length > 2 && !WORDLESS.has(word) && !REFERENCE.test(word),
  ).length;
}

/** The last proper name of a question after its first word ("Slack" in "… to Slack?"). */
function lastName(question: string): string | undefined {
  const names = clean(question)
    .split(/\s+/)
    .slice(1)
    .filter((word) => /^\p{Lu}/u.test(word));
  return names.at(-1)?.replace(/(?<![^\p{L}\p{N}])[^\p{L}\p{N}]+$/u, '');
}

export function rewriteFollowUp(followUp: string, previousQuestion: string | undefined): string {
  const asked = clean(followUp).replace(LEADING_FILLER, '').trim() || clean(followUp);
  if (!previousQuestion) return asked;
  const previous = clean(previousQuestion);

  const about = WHAT_ABOUT.exec(asked);
  if (about) {
    const name = lastName(previous);
    const subject = clean(about[1] ?? '');
    if (!name) return `${previous} ${subject}`;
    const at = previous.lastIndexOf(name);
    return `${previous.slice(0, at)}${subject}${previous.slice(at + name.length)}`;
  }
  if (REFERENCE.test(asked)) {
    const subject = questionSubject(previous);
    return asked.replace(REFERENCE, subject);
  }
  const own = ownWords(asked);
  if (own >= 2) return asked;
  // One word of its own ("and the metrics?"): that word is the question, with the names the
  // previous question was about; the rest of that question would only dilute it.
  if (own === 1) {
    const names = topicNames(previous).filter((name) => !asked.toLowerCase().includes(name.toLowerCase()));
    return names.length > 0 ? `${asked} ${names.join(' ')}` : asked;
  }
  return `${previous} ${asked}`;
}

const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

/** A word without the punctuation around it ("(p-queue)?" → "p-queue"). */
function trimPunctuation(word: string): string {
  let start = 0;
  let end = word.length;
  while (start < end && !LETTER_OR_DIGIT.test(word.charAt(start))) start += 1;
  while (end > start && !LETTER_OR_DIGIT.test(word.charAt(end - 1))) end -= 1;
  return word.slice(start, end);
}

/**
 * The names a question is about: words written with a capital where no sentence begins
 * ("Slack", "Docker") and technical names with inner punctuation, digits or capitals
 * ("p-queue", "prom-client", "jwt.verify", "onIdle").
 */
export function topicNames(question: string): string[] {
  const names: string[] = [];
  clean(question)
    .split(/\s+/)
    .forEach((raw, i) => {
      const word = trimPunctuation(raw);
      if (word.length < 2) return;
      const capitalised = i > 0 && /^\p{Lu}/u.test(word);
      const technical = /[\p{L}\p{N}][-._/][\p{L}\p{N}]|\p{Ll}\p{Lu}|\p{L}\p{N}|\p{N}\p{L}/u.test(word);
      if ((capitalised || technical) && !names.includes(word)) names.push(word);
    });
  return names;
}
