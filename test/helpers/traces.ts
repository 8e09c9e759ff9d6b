// The traces in a directory as tests read them back, whatever the layout: `*.json` files (one trace each)
// and `*.jsonl` segments (one trace per line), each with its reference as the gateway hands it on.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface TraceOnDisk {
  /** The file's name, or `<segment>#<byte offset>` for a line of a segment. */
  file: string;
  /** Bytes of the trace's JSON text (a segment's line without its newline). */
  bytes: number;
  trace: Record<string, any>;
}

/**
 * Every trace of the directory, sorted by file name and offset. Strict by default: a file or line that
 * does not parse, or a segment whose last line has no newline (a torn append), throws. `lenient` skips
 * what does not parse instead (directories with bad files on purpose).
 */
export async function tracesIn(directory: string, options: { lenient?: boolean } = {}): Promise<TraceOnDisk[]> {
  const out: TraceOnDisk[] = [];
  const parse = (file: string, text: string): void => {
    try {
      out.push({ file, bytes: Buffer.byteLength(text), trace: JSON.parse(text) });
    } catch (err) {
      if (!options.lenient) throw new Error(`${file}: ${(err as Error).message}`);
    }
  };
  const entries = (await readdir(directory, { withFileTypes: true })).filter((entry) => entry.isFile() && !entry.name.startsWith('.'));
  for (const { name } of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (name.endsWith('.json')) parse(name, await readFile(join(directory, name), 'utf8'));
    if (!name.endsWith('.jsonl')) continue;
    const content = await readFile(join(directory, name));
    if (content.length > 0 && content[content.length - 1] !== 0x0a && !options.lenient) throw new Error(`${name}: the last line has no newline`);
    for (let offset = 0; offset < content.length; ) {
      const newline = content.indexOf(0x0a, offset);
      if (newline < 0) break; // a torn last line
      parse(`${name}#${offset}`, content.toString('utf8', offset, newline));
      offset = newline + 1;
    }
  }
  return out;
}

/** Just the parsed traces, each with its `file` reference. */
export async function readTraces(directory: string, options: { lenient?: boolean } = {}): Promise<Record<string, any>[]> {
  return (await tracesIn(directory, options)).map(({ file, trace }) => ({ file, ...trace }));
}
