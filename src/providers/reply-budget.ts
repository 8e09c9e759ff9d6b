/**
 * The bounds of reading one reply, whatever its size (docs/interceptors.md, "Reply size"). A reply is read
 * to link the next turn (its canonical form) and to show it in traces and message logs; neither needs the
 * whole reply in memory:
 * - each text or tool-argument field is held whole only up to LONG_TEXT (64 Ki characters), beyond which it
 *   is folded into a digest as it streams (src/conversation/long-text.ts); all fields of a reply together
 *   hold at most HOLD_CHARS (a reply past that, e.g. thousands of long choices, is not linked);
 * - records get the start of each field, KEEP_CHARS for all fields together, and are told what was cut;
 * - a JSON body or an SSE event is parsed whole only up to WHOLE_PARSE_CHARS; a larger one is read
 *   incrementally under the same bounds (src/providers/bounded-json.ts).
 */
export const KEEP_CHARS = 1024 * 1024;
export const HOLD_CHARS = 2 * 1024 * 1024;
export const WHOLE_PARSE_CHARS = 1024 * 1024;

export class ReplyBudget {
  private kept = 0;
  private held = 0;
  /** Some field was cut for records. */
  truncated = false;

  constructor(
    private readonly keepLimit = KEEP_CHARS,
    private readonly holdLimit = HOLD_CHARS,
  ) {}

  /** How many of `n` more characters of a field records may keep; the rest is cut (and said so). */
  keep(n: number): number {
    const kept = Math.min(n, Math.max(0, this.keepLimit - this.kept));
    this.kept += kept;
    if (kept < n) this.truncated = true;
    return kept;
  }

  /** Takes `n` more characters to hold whole; false (nothing taken) once the reply's share is spent. */
  hold(n: number): boolean {
    if (this.held + n > this.holdLimit) return false;
    this.held += n;
    return true;
  }
}
