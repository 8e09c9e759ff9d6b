// A trace's reference read back: a `.json` file whole, a segment's line from its offset to its newline;
// a line not written yet, torn, too long, or an offset inside a line, is unreadable (never another trace).
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTraceReference, readTraceText, segmentReference } from '../../../src/interceptors/trace/trace-reference.js';

describe('trace references', () => {
  it('parses segment references and leaves file paths alone', () => {
    expect(parseTraceReference('/t/trace-2026-01-01T00:00:00.000Z-7-abcdef-0.jsonl#1234')).toEqual({
      path: '/t/trace-2026-01-01T00:00:00.000Z-7-abcdef-0.jsonl',
      offset: 1234,
    });
    expect(parseTraceReference('/t/trace-x-req_1.json')).toEqual({ path: '/t/trace-x-req_1.json', offset: null });
    // A '#' in a directory name is part of the path.
    expect(parseTraceReference('/t#1/a.jsonl#0')).toEqual({ path: '/t#1/a.jsonl', offset: 0 });
    expect(parseTraceReference('/t#1/a.json')).toEqual({ path: '/t#1/a.json', offset: null });
    expect(segmentReference('/t/a.jsonl', 9)).toBe('/t/a.jsonl#9');
  });

  it('reads a line of a segment from its offset, and refuses what is not a whole line there', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cylestio-reference-'));
    const path = join(dir, 's.jsonl');
    const long = JSON.stringify({ n: 2, pad: 'y'.repeat(200_000) });
    await writeFile(path, `{"n":1}\n${long}\n{"n":3,"torn`);
    expect(await readTraceText(segmentReference(path, 0))).toBe('{"n":1}');
    expect(JSON.parse(await readTraceText(segmentReference(path, 8))).n).toBe(2); // longer than one read
    await expect(readTraceText(segmentReference(path, 9 + long.length))).rejects.toThrow(/no complete line/); // torn
    await expect(readTraceText(segmentReference(path, 100 + 9 + long.length))).rejects.toThrow(/no complete line/); // not written yet
    await expect(readTraceText(segmentReference(path, 3))).rejects.toThrow(/not the start of a line/);
    await expect(readTraceText(segmentReference(path, 8), 1000)).rejects.toThrow(/longer than 1000 bytes/);
    await expect(readTraceText(segmentReference(join(dir, 'gone.jsonl'), 0))).rejects.toThrow(/ENOENT/);
  });

  it('reads a .json file whole, within the limit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cylestio-reference-'));
    const path = join(dir, 'trace-x.json');
    await writeFile(path, '{"whole":\n true}');
    expect(JSON.parse(await readTraceText(path))).toEqual({ whole: true });
    await expect(readTraceText(path, 5)).rejects.toThrow(/larger than 5 bytes/);
  });
});
