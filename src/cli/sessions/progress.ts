// Progress of a long scan, on stderr only (stdout stays pipeable for --json and --csv). On a terminal: one
// line rewritten in place, shown once the scan has run for a moment and cleared at the end. Elsewhere (a
// log, a CI job): a plain line every `every` files, and a closing line when any was printed.

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  /** Files between two lines when stderr is not a terminal. */
  every: number;
  enabled: boolean;
  /** Milliseconds clock (tests). */
  now?: () => number;
}

/** A terminal line appears only for scans longer than this, and is redrawn at most this often. */
const TTY_DELAY_MS = 300;
const TTY_INTERVAL_MS = 100;

export class Progress {
  private readonly startedAt: number;
  private nextMark: number;
  private lastDraw = 0;
  private printed = false;
  private readonly now: () => number;

  constructor(
    private readonly stream: ProgressStream,
    private readonly options: ProgressOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.startedAt = this.now();
    this.nextMark = options.every;
  }

  private rate(files: number): string {
    const seconds = (this.now() - this.startedAt) / 1000;
    return seconds > 0 ? `${Math.round(files / seconds)} files/s` : '';
  }

  update(files: number): void {
    if (!this.options.enabled) return;
    if (this.stream.isTTY) {
      const now = this.now();
      if (now - this.startedAt < TTY_DELAY_MS || now - this.lastDraw < TTY_INTERVAL_MS) return;
      this.lastDraw = now;
      this.printed = true;
      this.stream.write(`\r\x1b[Kreading traces: ${files} files (${this.rate(files)})`);
      return;
    }
    if (files < this.nextMark) return;
    // Batches arrive in steps of many files: one line per crossed mark, showing the count reached.
    while (this.nextMark <= files) this.nextMark += this.options.every;
    this.printed = true;
    this.stream.write(`reading traces: ${files} files (${this.rate(files)})\n`);
  }

  done(files: number): void {
    if (!this.printed) return;
    const seconds = ((this.now() - this.startedAt) / 1000).toFixed(1);
    if (this.stream.isTTY) this.stream.write('\r\x1b[K');
    else this.stream.write(`read ${files} files in ${seconds} s\n`);
  }
}
