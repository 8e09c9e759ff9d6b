// Where a trace is: the reference the trace interceptor hands on (`traceFile`, stored as `trace_file` in
// request rows) and the one place that reads it back. A `files` trace is the path of its `.json` file; a
// `segments` trace is `<segment path>#<byte offset>`, the offset of its line's first byte in the segment.

import { open } from 'node:fs/promises';

const SEGMENT_REFERENCE = /^(.*\.jsonl)#(\d+)$/;

/** `<segment path>#<byte offset>`: one line of a segment. */
export function segmentReference(path: string, offset: number): string {
  return `${path}#${offset}`;
}

/** The file a reference names, and the line's offset when it names a line of a segment (else null). */
export function parseTraceReference(reference: string): { path: string; offset: number | null } {
  const match = SEGMENT_REFERENCE.exec(reference);
  return match ? { path: match[1], offset: Number(match[2]) } : { path: reference, offset: null };
}

/** Why a reference could not be read, in words for a report. */
export class TraceUnreadable extends Error {}

const FIRST_READ = 64 * 1024;

/**
 * The JSON text of the trace a reference names, at most `limit` bytes. A segment's line is read from its
 * offset to its newline: a line not written yet, or cut short by a crash (no newline), is unreadable, as is
 * an offset that is not the start of a line.
 */
export async function readTraceText(reference: string, limit = Number.POSITIVE_INFINITY): Promise<string> {
  const { path, offset } = parseTraceReference(reference);
  const file = await open(path, 'r');
  try {
    if (offset === null) {
      const { size } = await file.stat();
      if (size > limit) throw new TraceUnreadable(`larger than ${limit} bytes`);
      return await file.readFile('utf8');
    }
    return await readLine(file, offset, limit);
  } finally {
    await file.close();
  }
}

async function readLine(file: Awaited<ReturnType<typeof open>>, offset: number, limit: number): Promise<string> {
  // One byte before the offset too: it must be the previous line's newline.
  let position = Math.max(0, offset - 1);
  const chunks: Buffer[] = [];
  let read = 0;
  for (let size = FIRST_READ; ; size *= 2) {
    const room = limit + 2 - read; // the line, its newline, and the byte before it
    if (room <= 0) throw new TraceUnreadable(`line longer than ${limit} bytes`);
    const buffer = Buffer.allocUnsafe(Math.min(size, room));
    const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) throw new TraceUnreadable('no complete line at this offset (not written yet, or cut short)');
    let chunk = buffer.subarray(0, bytesRead);
    if (read === 0 && offset > 0) {
      if (chunk[0] !== 0x0a) throw new TraceUnreadable('offset is not the start of a line');
      chunk = chunk.subarray(1);
    }
    position += bytesRead;
    read += bytesRead;
    const newline = chunk.indexOf(0x0a);
    if (newline >= 0) {
      chunks.push(chunk.subarray(0, newline));
      const line = Buffer.concat(chunks);
      if (line.length > limit) throw new TraceUnreadable(`line longer than ${limit} bytes`);
      return line.toString('utf8');
    }
    chunks.push(chunk);
  }
}
