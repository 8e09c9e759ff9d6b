// The trace writer alone: a burst beyond its queue is dropped and counted at once, never awaited; what was
// queued is on disk after flush, under its final name only (no temporary file left behind).
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TraceWriter } from '../../../src/interceptors/trace/trace-writer.js';

describe('TraceWriter', () => {
  it('drops what does not fit the queue, writes the rest atomically, and flushes', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cylestio-writer-'));
    const writer = new TraceWriter({ directory, maxQueue: 5, maxQueueBytes: 1_000_000, concurrency: 2 });
    const accepted = Array.from({ length: 20 }, (_, i) => writer.enqueue(`t-${i}.json`, 10, () => JSON.stringify({ i })));
    expect(accepted.filter(Boolean)).toHaveLength(5);
    expect(writer.dropped).toBe(15);
    await writer.flush();
    const names = (await readdir(directory)).sort();
    expect(names).toEqual(['t-0.json', 't-1.json', 't-2.json', 't-3.json', 't-4.json']);
    expect(JSON.parse(await readFile(join(directory, 't-3.json'), 'utf8'))).toEqual({ i: 3 });
    expect(writer.written).toBe(5);
  });

  it('bounds the queue by body bytes too', () => {
    const writer = new TraceWriter({ directory: join(tmpdir(), 'never-written'), maxQueue: 100, maxQueueBytes: 1000 });
    expect(writer.enqueue('a.json', 800, () => '{}')).toBe(true);
    expect(writer.enqueue('b.json', 800, () => '{}')).toBe(false);
    expect(writer.dropped).toBe(1);
  });
});
