// Texts for the compaction scenarios (docs/sessions.md, "Compaction"): a summary a gateway returned and the
// ways real clients put it back into a new history (lead-in on the same line, tags, re-wrapped, cut).

/** A summary as a model writes it when asked to compact a conversation (markdown, several paragraphs). */
export const SUMMARY = [
  '**Primary request:** the user is building a lending library service in TypeScript with a PostgreSQL database and wants the schema, the loan rules and an HTTP API.',
  '**Decisions so far:** books, members and loans are separate tables; every loan has a due date and a returned_at timestamp; a member may borrow at most five books at the same time, and overdue loans block new ones.',
  '**Files touched:** `src/db/schema.sql` holds the CREATE TABLE statements, `src/loans/rules.ts` checks the borrowing limit, and `test/loans.test.ts` covers the overdue case with a fixed clock.',
  '**Open question:** whether reservations become a table of their own with a queue position, or a status column on loans; the user leans towards a separate table.',
  '**Next step:** write the reservations migration and its tests, then expose POST /reservations in the API.',
].join('\n\n');

/** Claude Code's reply to its compaction prompt: an analysis block, then the summary in tags. */
export const TAGGED_REPLY = `<analysis>\nLet me go through the conversation chronologically and note every decision, file and open question before writing the summary.\n</analysis>\n\n<summary>\n${SUMMARY}\n</summary>`;

/** How Claude Code starts the new history: a lead-in, a single newline, then the summary without its tags. */
export const claudeCodeLeadIn = (summary: string) =>
  `This session is being continued from a previous conversation that ran out of context. The conversation is summarized below:\nSummary:\n${summary}\nPlease continue the conversation from where we left it off without asking the user any further questions.`;

/** The summary re-wrapped at `width` columns, one line per run of words, markdown emphasis stripped. */
export function rewrapped(text: string, width = 60): string {
  const out: string[] = [];
  let line = '';
  for (const word of text.replace(/\*\*/g, '').split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out.join('\n');
}

/** The first `share` of the text's words (a client that kept only part of the summary). */
export function firstPart(text: string, share: number): string {
  const list = text.split(/\s+/);
  return list.slice(0, Math.round(list.length * share)).join(' ');
}

/** Sentences every answer of some assistant ends with: shared by replies of unrelated sessions. */
export const BOILERPLATE =
  'If you have any further questions about this topic, feel free to ask me at any time. I am always happy to help you with more details, examples or alternative approaches whenever you need them.';

export const ANSWER_A = `The Rust borrow checker makes sure that every reference points to valid memory for as long as it is used, by tracking lifetimes at compile time. A value has exactly one owner, and it may be lent either to many readers or to a single writer, never to both at once. Moving a value transfers its ownership, so the old binding can no longer be used afterwards, which rules out double frees. ${BOILERPLATE}`;

export const ANSWER_B = `Python's garbage collector combines reference counting with a cycle detector that runs in generations. Most objects are freed the moment their count drops to zero, while containers that refer to each other are found by the generational collector, which scans young objects more often than old ones. The gc module lets you tune the thresholds or disable the collector for short bursts. ${BOILERPLATE}`;

/** A reply of fourteen words: above the content rule's minimum, below the paragraph rule's length. */
export const SHORT_REPLY = 'Use a separate reservations table keyed by book and member, ordered by request time.';
