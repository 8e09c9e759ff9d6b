// Reading and summarising a batch of trace files: the unit of work of the scan, run in a worker thread for
// large directories and in the main thread for small ones. Reads are synchronous on purpose: inside a
// worker nothing else waits on them, and a synchronous read of a small file costs a fraction of the four
// thread-pool round trips of an asynchronous one (docs/sessions-cli.md, "How the files are read").

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tallySummary, type SessionTally } from './lineage.js';
import { summarizeTrace, type TraceSummary } from './trace-summary.js';

/** A session asked for by its id, or a client-given name asked for without its tenant tag (`name~tag`). */
function sameSession(found: string | null, wanted: string): boolean {
  return found === wanted || (found?.startsWith(`${wanted}~`) === true && !wanted.includes('~'));
}

/** A file that was skipped, and why. */

export interface Rejection {
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
  /** Files read (summarised or rejected). */
  files: number;
  summaries: TraceSummary[];
  rejected: Rejection[];
  /** One per session of the batch, when asked for (`tally`). */
  tallies?: SessionTally[];
}

function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : String(err);
}

export function readBatch(names: string[], options: BatchOptions): BatchResult {
  const summaries: TraceSummary[] = [];
  const rejected: Rejection[] = [];
  const tallies = options.tally ? new Map<string, SessionTally>() : null;
  for (const name of names) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(options.directory, name));
    } catch (err) {
      // Gone since it was listed, a directory named *.json, no permission: skipped like a bad file.
      rejected.push({ file: name, reason: `unreadable (${errorCode(err)})` });
      continue;
    }
    const result = summarizeTrace(name, bytes, options.fullParse);
    if (result.summary === undefined) {
      rejected.push({ file: name, reason: result.reason });
      continue;
    }
    if (options.sessionId === undefined || sameSession(result.summary.sessionId, options.sessionId)) summaries.push(result.summary);
    if (tallies) tallySummary(tallies, result.summary);
  }
  return { files: names.length, summaries, rejected, ...(tallies ? { tallies: [...tallies.values()] } : {}) };
}
