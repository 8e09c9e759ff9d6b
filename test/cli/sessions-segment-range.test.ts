// Reading a segment in byte ranges: whatever the cut points, every line is read by exactly one range, with
// its own byte offset; a torn last line is skipped (and said to be torn), a line longer than the chunk read
// at once still comes whole.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBlank, readSegmentRange, segmentRanges } from '../../src/cli/sessions/segment-range.js';

async function segment(content: string): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'cylestio-range-')), 'trace-x.jsonl');
  await writeFile(path, content);
  return path;
}

/** Every line of the file as the ranges read them: [offset, text], in reading order. */
function readAll(path: string, size: number, rangeBytes: number, chunkBytes: number): { lines: [number, string][]; torn: number } {
  const lines: [number, string][] = [];
  let torn = 0;
  for (const range of segmentRanges('trace-x.jsonl', size, rangeBytes)) {
    const reading = readSegmentRange(path, range, (line, offset) => lines.push([offset, line.toString('utf8')]), chunkBytes);
    if (reading.torn) torn++;
  }
  return { lines, torn };
}

describe('segment ranges', () => {
  const texts = Array.from({ length: 40 }, (_, i) => JSON.stringify({ i, text: 'é'.repeat(i % 7), pad: 'x'.repeat((i * 37) % 90) }));
  const content = texts.map((text) => `${text}\n`).join('');
  const expected = texts.map((text, i): [number, string] => [
    Buffer.byteLength(
      texts
        .slice(0, i)
        .map((t) => `${t}\n`)
        .join(''),
    ),
    text,
  ]);

  it('cuts a segment into ranges of at most the given size', () => {
    expect(segmentRanges('s.jsonl', 0)).toEqual([]);
    expect(segmentRanges('s.jsonl', 10, 4).map((r) => [r.start, r.end])).toEqual([
      [0, 4],
      [4, 8],
      [8, 10],
    ]);
  });

  it('reads every line exactly once, at its offset, for any range and chunk size', async () => {
    const path = await segment(content);
    const size = Buffer.byteLength(content);
    for (const rangeBytes of [1, 2, 3, 7, 50, 64, 101, 500, size, size + 10]) {
      for (const chunkBytes of [1, 5, 64, 4096]) {
        const { lines, torn } = readAll(path, size, rangeBytes, chunkBytes);
        expect(lines, `ranges of ${rangeBytes}, chunks of ${chunkBytes}`).toEqual(expected);
        expect(torn).toBe(0);
      }
    }
  });

  it('skips a torn last line, whichever range it starts in, and says so once', async () => {
    const torn = `${content}{"i":40,"cut sh`;
    const path = await segment(torn);
    const size = Buffer.byteLength(torn);
    for (const rangeBytes of [3, 64, 1000, size]) {
      const result = readAll(path, size, rangeBytes, 64);
      expect(result.lines).toEqual(expected);
      expect(result.torn).toBe(1);
    }
  });

  it('reads only what the file held when it was listed', async () => {
    const path = await segment(content);
    const listed = expected[10][0] + 5; // mid-way through line 10: torn as far as this scan knows
    const result = readAll(path, listed, 64, 64);
    expect(result.lines).toEqual(expected.slice(0, 10));
    expect(result.torn).toBe(1);
  });

  it('tells blank lines', () => {
    expect(isBlank(Buffer.from(' \t\r'))).toBe(true);
    expect(isBlank(Buffer.from(''))).toBe(true);
    expect(isBlank(Buffer.from(' {}'))).toBe(false);
  });
});
