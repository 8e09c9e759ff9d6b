// Reading and summarising a batch of traces: up to 256 `*.json` files, or one range of a segment
// (`*.jsonl`, one trace per line). The unit of work of the scan, run in a worker thread for large
// directories and in the main thread for small ones. Reads are synchronous on purpose: inside a
// worker nothing else waits on them, and a synchronous read of a small file costs a fraction of the four
// thread-pool round trips of an asynchronous one (docs/sessions-cli.md, "How the files are read").

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tallySummary, type SessionTally } from './lineage.js';
import { isBlank, readSegmentRange, type SegmentRange } from './segment-range.js';
import { summarizeTrace, type SummaryResult, type TraceSummary } from './trace-summary.js';

/** What a batch holds: names of `*.json` files, and ranges of segments. */
export type ScanItem = string | SegmentRange;

/** A session asked for by its id, or a client-given name asked for without its tenant tag (`name~tag`). */
function sameSession(found: string | null, wanted: string): boolean {
  return found === wanted || (found?.startsWith(`${wanted}~`) === true && !wanted.includes('~'));
}

/** A trace that was skipped, and why. */
export interface Rejection {
  /** The file's name, or `<segment>#<byte offset>` for a line of a segment. */
  file: string;
  reason: string;
}

export interface BatchOptions {
  directory: string;
  /** Parse every file completely instead of the fast path (slower; the same figures). */
  fullParse: boolean;
  /** When set, only the summaries of this session are returned (the `show` command). */
  sessionId?: string;
  /** Also tally every session of the batch (parent, requests, tokens, cost), for session trees. */
  tally?: boolean;
}

export interface BatchResult {
  /** Traces read (summarised or rejected): files, and lines of segments. */
  files: number;
  summaries: TraceSummary[];
  rejected: Rejection[];
  /** One per session of the batch, when asked for (`tally`). */
  tallies?: SessionTally[];
}

function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : String(err);
}

export function readBatch(items: ScanItem[], options: BatchOptions): BatchResult {
  const summaries: TraceSummary[] = [];
  const rejected: Rejection[] = [];
  const tallies = options.tally ? new Map<string, SessionTally>() : null;
  let files = 0;
  const take = (file: string, result: SummaryResult) => {
    files++;
    if (result.summary === undefined) {
      rejected.push({ file, reason: result.reason });
      return;
    }
    if (options.sessionId === undefined || sameSession(result.summary.sessionId, options.sessionId)) summaries.push(result.summary);
    if (tallies) tallySummary(tallies, result.summary);
  };
  for (const item of items) {
    if (typeof item === 'string') {
      let bytes: Buffer;
      try {
        bytes = readFileSync(join(options.directory, item));
      } catch (err) {
        // Gone since it was listed, a directory named *.json, no permission: skipped like a bad file.
        take(item, { reason: `unreadable (${errorCode(err)})` });
        continue;
      }
      take(item, summarizeTrace(item, bytes, options.fullParse));
      continue;
    }
    try {
      // A segment's torn last line (written part way) is skipped without a report: see RangeReading.
      readSegmentRange(join(options.directory, item.name), item, (line, offset) => {
        if (isBlank(line)) return;
        const reference = `${item.name}#${offset}`;
        take(reference, summarizeTrace(reference, line, options.fullParse));
      });
    } catch (err) {
      take(item.start === 0 ? item.name : `${item.name}#${item.start}`, { reason: `unreadable (${errorCode(err)})` });
    }
  }
  return { files, summaries, rejected, ...(tallies ? { tallies: [...tallies.values()] } : {}) };
}
