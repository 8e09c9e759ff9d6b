/**
 * A string built from many small pieces (stream deltas of a few characters) without the cost of a rope:
 * `s += piece` links a 32-byte node per piece (and a slice keeps its parent alive), several times the
 * characters themselves. Pieces are gathered and joined into flat chunks of CHUNK characters instead.
 */
const CHUNK = 16 * 1024;

export class TextBuffer {
  length = 0;
  private readonly chunks: string[] = [];
  private pending: string[] = [];
  private pendingLength = 0;
  private joined: string | null = '';

  append(piece: string): void {
    if (!piece) return;
    this.length += piece.length;
    this.joined = null;
    this.pending.push(piece);
    this.pendingLength += piece.length;
    if (this.pendingLength < CHUNK) return;
    this.chunks.push(flat(this.pending.join('')));
    this.pending = [];
    this.pendingLength = 0;
  }

  toString(): string {
    if (this.joined === null) this.joined = this.chunks.join('') + this.pending.join('');
    return this.joined;
  }
}

/** A join of one piece is that piece itself, possibly a slice of a larger string: copy it then. */
function flat(text: string): string {
  return text.length < 13 ? text : ` ${text}`.slice(1);
}
