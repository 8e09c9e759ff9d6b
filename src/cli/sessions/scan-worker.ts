// Entry of a scan worker thread: receives batches of file names, answers each with its BatchResult.
import { parentPort, workerData } from 'node:worker_threads';
import { readBatch, type BatchOptions } from './read-batch.js';

const options = workerData as BatchOptions;
parentPort?.on('message', (names: string[]) => {
  parentPort?.postMessage(readBatch(names, options));
});
