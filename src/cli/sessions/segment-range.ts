// Reading trace segments (`*.jsonl`, one trace per line) in byte ranges, so that the threads of a scan
// share a large segment. A range owns the lines that start inside it: its reader skips to the first line
// start at or after its first byte (unless it is at 0) and finishes the line that crosses its end. Every
// line is thus read by exactly one range, whatever the cut points.

import { closeSync, openSync, readSync } from 'node:fs';

/** Bytes of a segment per range: several ranges of a 64 MiB segment keep every thread busy. */
export const RANGE_BYTES = 4 * 1024 * 1024;
/** First read past a range's end, for the line that crosses it. */
const LOOKAHEAD_BYTES = 64 * 1024;

/** One range of a segment file: bytes [start, end) of a file that was `size` bytes when listed. */
export interface SegmentRange {
  name: string;
  start: number;
  end: number;
  size: number;
}

/** The ranges a segment of `size` bytes is read in (none when it is empty). */
export function segmentRanges(name: string, size: number, rangeBytes = RANGE_BYTES): SegmentRange[] {
  const ranges: SegmentRange[] = [];
  for (let start = 0; start < size; start += rangeBytes) ranges.push({ name, start, end: Math.min(size, start + rangeBytes), size });
  return ranges;
}

/** What reading a range found besides its lines. */
export interface RangeReading {
  /**
   * A last line without its newline: the writer was mid-append when the segment was listed, or stopped
   * (a crash, a full disk) part way. It is not a trace yet, nor a damaged one: skipped, not reported.
   */
  torn: boolean;
}

const isSpace = (code: number) => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;

/** True when a line holds only whitespace (a blank line between traces is not a record). */
export function isBlank(line: Buffer): boolean {
  for (let i = 0; i < line.length; i++) if (!isSpace(line[i])) return false;
  return true;
}

/**
 * The read buffer, reused from range to range (a thread reads one range at a time): a fresh 4 MiB buffer per
 * range cost as much system time in page faults as the reads themselves. Grown for a line longer than it.
 */
let scratch = Buffer.alloc(0);

/**
 * Calls `onLine` with each line the range owns (without its newline) and the line's byte offset in the
 * file. The line is a view of a reused buffer: valid during the call only. Reads synchronously, as the
 * rest of a scan does, up to the size the file had when listed: lines appended since then belong to the
 * next scan. Throws when the file cannot be opened or read.
 */
export function readSegmentRange(path: string, range: SegmentRange, onLine: (line: Buffer, offset: number) => void, chunkBytes = RANGE_BYTES): RangeReading {
  const fd = openSync(path, 'r');
  try {
    // From the byte before the range: when it is a newline, a line starts right at `start`.
    let position = range.start === 0 ? 0 : range.start - 1;
    /** Offset of the line being read; -1 while looking for the first line start. */
    let lineStart = range.start === 0 ? 0 : -1;
    // Past the range's end only the line that crosses it is left to read: a little at a time, more if it
    // is long, rather than another whole chunk that the next range reads anyway.
    let lookahead = Math.min(LOOKAHEAD_BYTES, chunkBytes);
    if (scratch.length < chunkBytes + lookahead) scratch = Buffer.allocUnsafe(chunkBytes + lookahead);
    /** File offset of scratch[0]; scratch[0, held) holds the start of the line being read. */
    let base = position;
    let held = 0;
    while (position < range.size) {
      let want = lookahead;
      if (position < range.end) want = Math.min(chunkBytes, range.end - position + lookahead);
      else lookahead *= 2;
      want = Math.min(want, range.size - position);
      if (held + want > scratch.length) {
        const grown = Buffer.allocUnsafe(Math.max(held + want, 2 * scratch.length));
        scratch.copy(grown, 0, 0, held);
        scratch = grown;
      }
      const read = readSync(fd, scratch, held, want, position);
      if (read === 0) break; // shorter than listed: truncated since
      let from = held; // what was held has no newline
      held += read;
      position += read;
      const data = scratch.subarray(0, held);
      for (let newline = data.indexOf(0x0a, from); newline >= 0; newline = data.indexOf(0x0a, from)) {
        if (lineStart >= 0) onLine(data.subarray(lineStart - base, newline), lineStart);
        lineStart = base + newline + 1;
        if (lineStart >= range.end) return { torn: false };
        from = newline + 1;
      }
      if (lineStart < 0) {
        if (position >= range.end) return { torn: false }; // no line starts in this range
        base = position;
        held = 0;
      } else {
        // Keep the start of the unfinished line at the front of the buffer for the next read.
        scratch.copy(scratch, 0, lineStart - base, held);
        held -= lineStart - base;
        base = lineStart;
      }
    }
    return { torn: lineStart >= 0 && lineStart < Math.min(range.end, range.size) };
  } finally {
    closeSync(fd);
  }
}
