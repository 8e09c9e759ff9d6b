/**
 * Reset phrases ("start over", "new conversation", …): matched case-insensitively at word boundaries, so
 * "restart overall" or "clear chatter" do not reset anything.
 */
export function resetPhraseMatcher(phrases: string[]): (text: string) => string | undefined {
  if (phrases.length === 0) return () => undefined;
  const escaped = phrases.map((phrase) =>
    phrase
      .trim()
      .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      .replace(/\s+/g, '\\s+'),
  );
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(${escaped.join('|')})(?![\\p{L}\\p{N}])`, 'iu');
  return (text) => pattern.exec(text)?.[1];
}
