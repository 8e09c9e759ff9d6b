// Replies of any size for the gateway's size-cap tests and benches (`x-sim-reply-bytes: N`): the text (or a
// tool call's arguments) is produced piece by piece from a repeating filler, so the simulator never holds
// the reply, and a 100 MB stream costs it no more memory than a short one.

const FILLER = 'lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. ';

/** Enough filler that any piece up to `pieceChars` is one slice of it, whatever its phase. */
function fillerBlock(pieceChars: number): string {
  return FILLER.repeat(Math.ceil(pieceChars / FILLER.length) + 1);
}

/**
 * Exactly `chars` characters of ASCII text in pieces of at most `pieceChars`: `head` first (so different
 * conversations get different replies), then filler, ending on a newline (trailing whitespace, which the
 * canonical form trims: the gateway must hold it back while streaming, not drop or keep it blindly).
 */
export function* largeTextPieces(head: string, chars: number, pieceChars: number): Generator<string> {
  const piece = Math.max(1, pieceChars);
  const block = fillerBlock(piece);
  const body = Math.max(0, chars - head.length - 1);
  if (head) yield head.slice(0, chars);
  for (let done = 0; done < body; ) {
    const size = Math.min(piece, body - done);
    const phase = done % FILLER.length;
    yield block.slice(phase, phase + size);
    done += size;
  }
  if (chars > head.length) yield '\n';
}

/** The same text as one string, for JSON replies (built in memory: keep them to a few megabytes). */
export function largeText(head: string, chars: number): string {
  return [...largeTextPieces(head, chars, 64 * 1024)].join('');
}

/**
 * Tool-call arguments of about `chars` characters as JSON text pieces: `{"data":"<filler>","size":N}`,
 * valid JSON once joined, cut anywhere (as providers stream arguments).
 */
export function* largeArgumentsPieces(chars: number, pieceChars: number): Generator<string> {
  yield '{"data":"';
  for (const piece of largeTextPieces('', Math.max(1, chars - 30), pieceChars)) yield piece === '\n' ? '\\n' : piece;
  yield `","size":${chars}}`;
}

export function largeArguments(chars: number): string {
  return [...largeArgumentsPieces(chars, 64 * 1024)].join('');
}

/** Completion tokens charged for a large reply: about one per six characters, without counting words. */
export function largeReplyTokens(chars: number): number {
  return Math.ceil(chars / 6);
}
