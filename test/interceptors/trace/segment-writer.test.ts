// The segment writer alone: traces queued together (or within the batch window) go out as one append to
// one segment, whose references (`<segment>#<offset>`) read back exactly; segments rotate by size and by
// age (injected clock); a failed open or append is counted, never stalls the queue, and the next traces
// start a new segment; close puts every queued trace on disk and releases the file; two writers on one
// directory never share a file.
import { mkdtemp, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { segmentFileName } from '../../../src/interceptors/trace/segment-name.js';
import { type SegmentHandle, SegmentWriter, type SegmentWriterOptions } from '../../../src/interceptors/trace/segment-writer.js';
import { parseTraceReference, readTraceText } from '../../../src/interceptors/trace/trace-reference.js';

const directory = () => mkdtemp(join(tmpdir(), 'cylestio-segments-'));

/** A trace's line as the writer takes it: the bytes, line break included. */
const line = (json: string) => Buffer.from(`${json}\n`);

function writer(dir: string, options: Partial<SegmentWriterOptions> = {}): SegmentWriter {
  return new SegmentWriter({
    directory: dir,
    prefix: 'trace',
    maxQueue: 1000,
    maxQueueBytes: 1_000_000,
    maxSegmentBytes: 1_000_000,
    maxSegmentAgeMs: 3_600_000,
    ...options,
  });
}

/**
 * A real file handle whose appends are counted, and can be made to fail: `fail(call)` returns an error to
 * throw, or a number of bytes for a short write.
 */
function countingOpen(counts: { opens: number; writes: number; closes: number }, fail: (call: number) => Error | number | undefined = () => undefined) {
  return async (path: string): Promise<SegmentHandle> => {
    const file = await open(path, 'ax');
    counts.opens++;
    return {
      async write(buffer, offset, length) {
        const failure = fail(++counts.writes);
        if (failure instanceof Error) throw failure;
        return file.write(buffer, offset, typeof failure === 'number' ? Math.min(failure, length) : length);
      },
      async close() {
        counts.closes++;
        await file.close();
      },
    };
  };
}

const enospc = () => Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });

async function lines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n');
}

describe('SegmentWriter', () => {
  it('appends traces queued together as one write to one segment, each reference reading back its own line', async () => {
    const dir = await directory();
    const counts = { opens: 0, writes: 0, closes: 0 };
    const w = writer(dir, { openFile: countingOpen(counts) });
    const references = Array.from({ length: 50 }, (_, i) => w.enqueue(10, () => line(JSON.stringify({ i, text: 'é'.repeat(i) }))));
    expect(w.queued).toBe(50);
    await w.close();
    expect(counts).toEqual({ opens: 1, writes: 1, closes: 1 });
    expect(w).toMatchObject({ written: 50, failed: 0, dropped: 0, segments: 1, queued: 0 });
    const names = await readdir(dir);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(new RegExp(`^trace-\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z-${process.pid}-[0-9a-f]{6}-0\\.jsonl$`));
    const content = await lines(join(dir, names[0]));
    expect(content).toHaveLength(51);
    expect(content.at(-1)).toBe(''); // every line ends with a newline
    for (const [i, reference] of references.entries()) {
      expect(parseTraceReference(reference!)).toEqual({ path: join(dir, names[0]), offset: expect.any(Number) });
      expect(JSON.parse(await readTraceText(reference!))).toEqual({ i, text: 'é'.repeat(i) });
    }
  });

  it('gathers traces arriving apart within the batch window into one append; flush does not wait for the window', async () => {
    const dir = await directory();
    const counts = { opens: 0, writes: 0, closes: 0 };
    const w = writer(dir, { openFile: countingOpen(counts), batchWindowMs: 60_000 });
    for (let i = 0; i < 5; i++) {
      w.enqueue(1, () => line(JSON.stringify({ i })));
      await new Promise<void>((resolve) => setImmediate(resolve)); // each trace from its own macrotask
    }
    expect(counts.writes).toBe(0);
    const started = performance.now();
    await w.close();
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(counts.writes).toBe(1);
    expect(w.written).toBe(5);
  });

  it('bounds the queue by count and bytes before rendering, and drops what does not fit', async () => {
    const dir = await directory();
    const w = writer(dir, { maxQueue: 3, maxQueueBytes: 1000 });
    let rendered = 0;
    const render = () => {
      rendered++;
      return line('{}');
    };
    expect(w.enqueue(10, render)).toBeDefined();
    expect(w.enqueue(990, render)).toBeDefined();
    expect(w.enqueue(999, render)).toBeUndefined(); // bytes
    expect(w.enqueue(1, render)).toBeDefined();
    expect(w.enqueue(1, render)).toBeUndefined(); // count
    expect(rendered).toBe(3);
    expect(w.dropped).toBe(2);
    await w.close();
    expect(w.written).toBe(3);
  });

  it('splits a large backlog into appends of at most maxBatchBytes', async () => {
    const dir = await directory();
    const counts = { opens: 0, writes: 0, closes: 0 };
    const w = writer(dir, { openFile: countingOpen(counts), maxBatchBytes: 1000 });
    for (let i = 0; i < 20; i++) w.enqueue(1, () => line(JSON.stringify({ pad: 'x'.repeat(188) }))); // 200 bytes a line
    await w.close();
    expect(counts.writes).toBe(4);
    expect((await lines(join(dir, (await readdir(dir))[0]))).length).toBe(21);
  });

  it('rotates by size: no segment grows past segment_max_bytes, and the old file is closed', async () => {
    const dir = await directory();
    const counts = { opens: 0, writes: 0, closes: 0 };
    const w = writer(dir, { openFile: countingOpen(counts), maxSegmentBytes: 250 });
    const references: string[] = [];
    for (let i = 0; i < 10; i++) {
      references.push(w.enqueue(1, () => line(JSON.stringify({ i, pad: 'x'.repeat(80) })))!); // 100 bytes a line
      await w.flush();
    }
    // A single trace larger than the limit gets a segment of its own.
    references.push(w.enqueue(1, () => line(JSON.stringify({ big: 'y'.repeat(400) })))!);
    await w.close();
    const names = (await readdir(dir)).sort();
    expect(names).toHaveLength(6);
    expect(w.segments).toBe(6);
    expect(counts.closes).toBe(6);
    for (const name of names) {
      const size = (await readFile(join(dir, name))).length;
      if (size > 250) expect(await lines(join(dir, name))).toHaveLength(2);
    }
    for (const [i, reference] of references.slice(0, 10).entries()) expect(JSON.parse(await readTraceText(reference)).i).toBe(i);
    expect(parseTraceReference(references[10]).offset).toBe(0);
  });

  it('rotates by age with the injected clock; names carry each segment start time', async () => {
    const dir = await directory();
    let now = Date.parse('2026-03-01T10:00:00.000Z');
    const w = writer(dir, { now: () => now, maxSegmentAgeMs: 60_000 });
    const first = w.enqueue(1, () => line('{"n":1}'))!;
    now += 59_999;
    const second = w.enqueue(1, () => line('{"n":2}'))!;
    now += 1;
    const third = w.enqueue(1, () => line('{"n":3}'))!;
    await w.close();
    expect(parseTraceReference(second).path).toBe(parseTraceReference(first).path);
    expect(basename(parseTraceReference(first).path)).toMatch(/^trace-2026-03-01T10:00:00\.000Z-/);
    expect(basename(parseTraceReference(third).path)).toMatch(/^trace-2026-03-01T10:01:00\.000Z-/);
    expect((await readdir(dir)).sort()).toEqual([basename(parseTraceReference(first).path), basename(parseTraceReference(third).path)].sort());
    expect(JSON.parse(await readTraceText(third))).toEqual({ n: 3 });
  });

  it('keeps a rotated segment open until the traces queued for it during an append are written', async () => {
    const dir = await directory();
    let now = Date.parse('2026-03-01T10:00:00.000Z');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const counts = { opens: 0, writes: 0, closes: 0 };
    const open = countingOpen(counts);
    const w = writer(dir, {
      now: () => now,
      maxSegmentAgeMs: 60_000,
      batchWindowMs: 5,
      // The first append is held until the next two traces are queued.
      openFile: async (path) => {
        const handle = await open(path);
        return { ...handle, write: async (...args) => (counts.writes === 0 ? gate.then(() => handle.write(...args)) : handle.write(...args)) };
      },
    });
    const first = w.enqueue(1, () => line('{"n":1}'))!;
    await expect.poll(() => counts.opens).toBe(1);
    const second = w.enqueue(1, () => line('{"n":2}'))!; // same segment, queued behind the held append
    now += 60_000;
    const third = w.enqueue(1, () => line('{"n":3}'))!; // rotates: the first segment takes no more
    release();
    // No flush waiting: the writer sees the rest queued after its append and waits out a window.
    await expect.poll(() => w.written).toBeGreaterThanOrEqual(1);
    await w.close();
    expect(w).toMatchObject({ written: 3, failed: 0, segments: 2 });
    expect(parseTraceReference(second).path).toBe(parseTraceReference(first).path);
    for (const [n, reference] of [first, second, third].entries()) expect(JSON.parse(await readTraceText(reference))).toEqual({ n: n + 1 });
  });

  it('counts a failed append, keeps the lines wholly written, and starts a new segment for later traces', async () => {
    const dir = await directory();
    const counts = { opens: 0, writes: 0, closes: 0 };
    const failures: unknown[] = [];
    // The first append writes 1.5 lines of about 100 bytes, then the disk is full.
    const w = writer(dir, {
      openFile: countingOpen(counts, (call) => (call === 1 ? 150 : call === 2 ? enospc() : undefined)),
      onFailure: (err) => failures.push(err),
    });
    const lost = Array.from({ length: 4 }, (_, i) => w.enqueue(1, () => line(JSON.stringify({ i, pad: 'x'.repeat(80) })))!);
    await w.flush();
    expect(w).toMatchObject({ written: 1, failed: 3, queued: 0 });
    expect(failures).toHaveLength(1);
    expect(JSON.parse(await readTraceText(lost[0])).i).toBe(0);
    // The second line is torn (no newline): unreadable, as are the lines never written.
    for (const reference of lost.slice(1)) await expect(readTraceText(reference)).rejects.toThrow();
    const later = w.enqueue(1, () => line('{"after":true}'))!;
    await w.close();
    expect(parseTraceReference(later).path).not.toBe(parseTraceReference(lost[0]).path);
    expect(JSON.parse(await readTraceText(later))).toEqual({ after: true });
    expect(w).toMatchObject({ written: 2, failed: 3, segments: 2 });
    expect(counts.closes).toBe(2);
  });

  it('never stalls when every open fails (EACCES, a full disk): each trace is counted failed and flush resolves', async () => {
    const dir = await directory();
    const failures: unknown[] = [];
    const w = writer(dir, {
      openFile: async () => {
        throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      },
      onFailure: (err) => failures.push(err),
    });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5; i++) expect(w.enqueue(1, () => line('{}'))).toBeDefined();
      await w.flush();
    }
    await w.close();
    expect(w).toMatchObject({ written: 0, failed: 15, queued: 0, segments: 0 });
    expect(failures).toHaveLength(1); // reported when writing starts failing, not for every batch
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes a segment it created but could not write anything to, and takes a write of nothing as a failure', async () => {
    for (const fail of [enospc, () => 0]) {
      const dir = await directory();
      const w = writer(dir, { openFile: countingOpen({ opens: 0, writes: 0, closes: 0 }, fail) });
      w.enqueue(1, () => line('{}'));
      await w.close();
      expect(w).toMatchObject({ written: 0, failed: 1 });
      expect(await readdir(dir)).toEqual([]);
    }
  });

  it('counts a trace whose rendering throws as failed, without queueing it', async () => {
    const w = writer(await directory());
    expect(
      w.enqueue(1, () => {
        throw new Error('boom');
      }),
    ).toBeUndefined();
    expect(w).toMatchObject({ failed: 1, queued: 0 });
    await w.close();
  });

  it('flushes on close, then starts a new segment for a trace queued after it', async () => {
    const dir = await directory();
    const counts = { opens: 0, writes: 0, closes: 0 };
    const w = writer(dir, { openFile: countingOpen(counts) });
    const queued = Array.from({ length: 200 }, (_, i) => w.enqueue(1, () => line(JSON.stringify({ i })))!);
    await w.close();
    expect(counts.closes).toBe(1);
    expect(w.written).toBe(200);
    expect(JSON.parse(await readTraceText(queued[199]))).toEqual({ i: 199 });
    const after = w.enqueue(1, () => line('{"late":1}'))!;
    await w.close();
    expect(parseTraceReference(after).path).not.toBe(parseTraceReference(queued[0]).path);
    expect(JSON.parse(await readTraceText(after))).toEqual({ late: 1 });
  });

  it('two writers on one directory (same process, same instant) never share a segment', async () => {
    const dir = await directory();
    const now = () => Date.parse('2026-03-01T10:00:00.000Z');
    const a = writer(dir, { now });
    const b = writer(dir, { now });
    for (let i = 0; i < 100; i++) {
      a.enqueue(1, () => line(JSON.stringify({ writer: 'a', i })));
      b.enqueue(1, () => line(JSON.stringify({ writer: 'b', i })));
    }
    await Promise.all([a.close(), b.close()]);
    const names = await readdir(dir);
    expect(names).toHaveLength(2);
    const owners = await Promise.all(
      names.map(async (name) => new Set((await lines(join(dir, name))).filter(Boolean).map((text) => JSON.parse(text).writer as string))),
    );
    expect(owners.map((set) => [...set]).sort()).toEqual([['a'], ['b']]);
  });

  it('never appends to a segment that already exists: its traces fail, the file is left as it was', async () => {
    const dir = await directory();
    const now = () => Date.parse('2026-03-01T10:00:00.000Z');
    const taken = join(dir, segmentFileName('trace', now(), 4242, 'abcdef', 0));
    await writeFile(taken, '{"someone":"else"}\n');
    const w = writer(dir, { now, pid: 4242, tag: 'abcdef' });
    // Names are unique by pid, random tag and seq; should one still be taken, the writer does not know it
    // when handing out the reference, but the exclusive create keeps it from writing there.
    expect(w.enqueue(1, () => line('{"mine":1}'))).toBe(`${taken}#0`);
    await w.flush();
    expect(w).toMatchObject({ written: 0, failed: 1 });
    expect(await readFile(taken, 'utf8')).toBe('{"someone":"else"}\n');
    const next = w.enqueue(1, () => line('{"mine":2}'))!;
    await w.close();
    expect(parseTraceReference(next).path).toBe(join(dir, segmentFileName('trace', now(), 4242, 'abcdef', 1)));
    expect(JSON.parse(await readTraceText(next))).toEqual({ mine: 2 });
  });
});
