// Traces a gateway put on disk in a trace directory, whatever the layout: one per `*.json` file (one file
// per exchange), one per complete line of a `*.jsonl` segment (a torn last line is not a trace yet).

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function tracesOnDisk(directory: string): Promise<number> {
  let traces = 0;
  for (const name of await readdir(directory).catch(() => [] as string[])) {
    if (name.startsWith('.')) continue; // the file layout's temporaries
    if (name.endsWith('.json')) traces++;
    else if (name.endsWith('.jsonl')) {
      const bytes = await readFile(join(directory, name));
      for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) traces++;
    }
  }
  return traces;
}
