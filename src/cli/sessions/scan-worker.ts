// Entry of a scan worker thread: receives batches (file names, segment ranges), answers each with its BatchResult.
import { parentPort, workerData } from 'node:worker_threads';
import { readBatch, type BatchOptions, type ScanItem } from './read-batch.js';

const options = workerData as BatchOptions;
parentPort?.on('message', (items: ScanItem[]) => {
  parentPort?.postMessage(readBatch(items, options));
});
