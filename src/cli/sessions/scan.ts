// Scanning a traces directory: the directory is streamed (opendir, never one array of 100,000 names), the
// `*.json` names are cut into batches of 256, each segment (`*.jsonl`) into byte ranges of 4 MiB, and each
// batch is read and summarised either in the main thread or by a pool of worker threads (at most two
// batches queued per worker): reads and parsing then run on every core, even on one large segment, the
// files read at once are bounded (one per thread), and so is memory (batches queued × 256 names or one
// range). Directories of less work than 1,024 files are always read in the main thread: starting workers
// would cost more than it saves.

import type { Dirent } from 'node:fs';
import { opendir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SessionTally } from './lineage.js';
import { readBatch, type BatchOptions, type BatchResult, type Rejection, type ScanItem } from './read-batch.js';
import { segmentRanges } from './segment-range.js';
import type { TraceSummary } from './trace-summary.js';

/** Names per batch: large enough to amortise a message, small enough to keep every worker busy. */
const BATCH = 256;
/** Batches queued per worker, so a worker never idles waiting for its next message. */
const PER_WORKER = 2;
/** Up to this many files (four batches) the main thread reads them itself. */
const INLINE_FILES = 4 * BATCH;
/** Segment bytes that weigh one file in that limit (a chat trace is about 7 KB). */
const SEGMENT_BYTES_PER_FILE = 8 * 1024;
/** Rejections kept with their names for the report; the rest are only counted. */
const REPORTED_REJECTIONS = 5;

/**
 * Worker threads by default: one per core, up to 8 (reading and parsing are CPU-bound once the files are in
 * the page cache); none on a single core, where a worker only adds its start-up. Measured on 2 cores,
 * 100,000 files, scan only: main thread 4.3–5.8 s, 1 worker 5.3–5.4 s, 2 workers 3.2–3.8 s, 3 workers
 * 4.2–4.4 s, 4 workers 3.9–4.4 s (docs/sessions-cli.md).
 */
export function defaultThreads(): number {
  const cores = availableParallelism();
  return cores >= 2 ? Math.min(cores, 8) : 0;
}

export class TraceDirectoryError extends Error {}

export interface ScanOptions extends BatchOptions {
  /** Worker threads; 0 reads everything in the main thread. */
  threads: number;
  onSummary(summary: TraceSummary): void;
  /** Every session's tally of a batch, when `tally` is set. */
  onTally?(tally: SessionTally): void;
  /** Called after every batch with the number of traces read so far. */
  onProgress?(files: number): void;
}

export interface ScanResult {
  /** Traces read, summarised or rejected: `*.json` files, and lines of `*.jsonl` segments. */
  files: number;
  /** Entries that are not trace files by name (other extensions, dot-files, directories). */
  ignored: number;
  rejectedCount: number;
  /** The first few rejected files, with the reason. */
  rejected: Rejection[];
}

/** Where the worker's module is: its compiled .js beside this file, or its .ts when run from source. */
function startWorker(options: BatchOptions): Worker {
  const workerData: BatchOptions = { directory: options.directory, fullParse: options.fullParse, sessionId: options.sessionId, tally: options.tally };
  if (import.meta.url.endsWith('.ts')) {
    // From the TypeScript sources (tests, `node --import tsx`): loader hooks do not reach worker threads,
    // so the worker registers tsx itself before importing its module.
    const tsx = import.meta.resolve('tsx/esm/api');
    const entry = new URL('./scan-worker.ts', import.meta.url).href;
    const code = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`;
    return new Worker(code, { eval: true, workerData });
  }
  return new Worker(new URL('./scan-worker.js', import.meta.url), { workerData });
}

async function openDirectory(directory: string) {
  try {
    return await opendir(directory, { bufferSize: 1024 });
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
    if (code === 'ENOENT') throw new TraceDirectoryError(`trace directory ${directory} does not exist`);
    if (code === 'ENOTDIR') throw new TraceDirectoryError(`${directory} is not a directory`);
    throw new TraceDirectoryError(`cannot read trace directory ${directory}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Reads every trace file of the directory once, handing each summary to `onSummary`. */
export async function scanTraces(options: ScanOptions): Promise<ScanResult> {
  const result: ScanResult = { files: 0, ignored: 0, rejectedCount: 0, rejected: [] };
  const take = (batch: BatchResult) => {
    result.files += batch.files;
    for (const summary of batch.summaries) options.onSummary(summary);
    for (const tally of batch.tallies ?? []) options.onTally?.(tally);
    result.rejectedCount += batch.rejected.length;
    for (const rejection of batch.rejected) if (result.rejected.length < REPORTED_REJECTIONS) result.rejected.push(rejection);
    options.onProgress?.(result.files);
  };

  const dir = await openDirectory(options.directory);
  const entries = dir[Symbol.asyncIterator]();
  try {
    return await readAll(entries, options, result, take);
  } finally {
    // Closes the directory when the scan stops early (a worker failed); a no-op after the last entry.
    await entries.return?.(undefined);
  }
}

/**
 * The directory's batches, in listing order: `*.json` names by 256, and each segment's ranges as batches of
 * their own. What `traces/*.json` and `traces/*.jsonl` match: no dot-files (the trace writer's
 * temporaries), no directories.
 */
async function* batchesOf(
  entries: AsyncIterator<Dirent>,
  options: ScanOptions,
  result: ScanResult,
  take: (batch: BatchResult) => void,
): AsyncGenerator<ScanItem[]> {
  let names: string[] = [];
  for (let next = await entries.next(); !next.done; next = await entries.next()) {
    const entry = next.value;
    const traceName = !entry.name.startsWith('.') && !entry.isDirectory();
    if (traceName && entry.name.endsWith('.json')) {
      names.push(entry.name);
      if (names.length === BATCH) {
        yield names;
        names = [];
      }
    } else if (traceName && entry.name.endsWith('.jsonl')) {
      let size: number;
      try {
        size = (await stat(join(options.directory, entry.name))).size;
      } catch (err) {
        const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : String(err);
        take({ files: 1, summaries: [], rejected: [{ file: entry.name, reason: `unreadable (${code})` }] });
        continue;
      }
      for (const range of segmentRanges(entry.name, size)) yield [range];
    } else result.ignored++;
  }
  if (names.length > 0) yield names;
}

/** The work a batch stands for, in files (a segment range by its bytes). */
function weight(batch: ScanItem[]): number {
  let files = 0;
  for (const item of batch) files += typeof item === 'string' ? 1 : (item.end - item.start) / SEGMENT_BYTES_PER_FILE;
  return files;
}

async function readAll(entries: AsyncIterator<Dirent>, options: ScanOptions, result: ScanResult, take: (batch: BatchResult) => void): Promise<ScanResult> {
  const batches = batchesOf(entries, options, result, take);
  /** The next batch; empty when the directory is exhausted. */
  const nextBatch = async (): Promise<ScanItem[]> => {
    const next = await batches.next();
    return next.done ? [] : next.value;
  };

  // Read ahead to decide between the main thread and workers.
  const pending: ScanItem[][] = [];
  let exhausted = false;
  let work = 0;
  while (!exhausted && work < INLINE_FILES) {
    const batch = await nextBatch();
    if (batch.length > 0) pending.push(batch);
    work += weight(batch);
    exhausted = batch.length === 0;
  }

  if (exhausted || options.threads <= 0) {
    for (let batch = pending.shift() ?? (await nextBatch()); batch.length > 0; batch = pending.shift() ?? (await nextBatch())) {
      take(readBatch(batch, options));
      // Let stderr (progress) drain and signals through between batches.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return result;
  }

  const workers = Array.from({ length: options.threads }, () => ({ worker: startWorker(options), inFlight: 0 }));
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  let stopping = false;
  const signal = () => {
    const resume = wake;
    wake = null;
    resume?.();
  };
  for (const slot of workers) {
    slot.worker.on('message', (batch: BatchResult) => {
      slot.inFlight--;
      take(batch);
      signal();
    });
    slot.worker.on('error', (err) => {
      failure ??= err;
      signal();
    });
    slot.worker.on('exit', (code) => {
      // A worker that dies with batches in flight would leave the scan waiting for them forever.
      if (!stopping) failure ??= new Error(`a trace reader thread stopped (exit code ${code})`);
      signal();
    });
  }
  const waitForChange = () => new Promise<void>((resolve) => (wake = resolve));
  try {
    for (let batch = pending.shift() ?? (await nextBatch()); batch.length > 0; batch = pending.shift() ?? (await nextBatch())) {
      for (;;) {
        if (failure) throw failure;
        const idlest = workers.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
        if (idlest.inFlight < PER_WORKER) {
          idlest.inFlight++;
          idlest.worker.postMessage(batch);
          break;
        }
        await waitForChange();
      }
    }
    while (workers.some((slot) => slot.inFlight > 0)) {
      if (failure) throw failure;
      await waitForChange();
    }
    if (failure) throw failure;
    return result;
  } finally {
    stopping = true;
    await Promise.all(workers.map((slot) => slot.worker.terminate()));
  }
}
