import type { TrimmedForm } from './long-text.js';

/**
 * A string the reply side folded as it streamed by, too long to keep: it still knows every canonical form
 * the string could take, computed exactly as the request side computes them from the whole string
 * (long-text.ts, long-json.ts). The canonical builder accepts one wherever it accepts a string.
 */
export abstract class FoldedString {
  /** The form `trimmedForm` gives the whole string. */
  abstract textForm(): TrimmedForm;
  /** The form `argumentsForm` gives the whole string read as tool-call arguments. */
  abstract argumentsForm(): string;
  /** The string as a JSON value: `JSON.stringify(s).length`, and its encoding in `jsonDigest` (`$` + hex). */
  abstract leafLength(): number;
  abstract leafEncoding(): string;
}
