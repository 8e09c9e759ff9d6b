// Memory stays bounded whatever the reply size (docs/interceptors.md, "Reply size"): 100 MB streamed through
// the gateway with traces and the message log on must not grow its process by more than a fixed amount.
// The gateway runs in this process (startStack), so the process's RSS is the gateway's (plus the
// simulator's, which produces the reply lazily and holds none of it).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

// A full collection before each reading, so the baseline is not inflated by earlier tests' garbage.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const MB = 1024 * 1024;
/** The bound docs/interceptors.md states for the growth of a gateway streaming one reply of any size. */
const BOUND = 64 * MB;

async function stream(s: Stack, path: string, bytes: number, onChunk: () => void): Promise<number> {
  const body = { model: 'm', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'Everything, at length' }], stream_options: { include_usage: true } };
  const response = await fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sim-reply-bytes': String(bytes), 'x-sim-delta-bytes': '8000' },
    body: JSON.stringify(body),
  });
  let received = 0;
  for await (const chunk of response.body!) {
    received += (chunk as Uint8Array).length;
    onChunk();
  }
  return received;
}

it.each([
  ['openai', '/v1/chat/completions'],
  ['anthropic', '/v1/messages'],
] as const)('%s: a 100 MB streamed reply grows the gateway by less than 64 MB (traces and message log on)', async (type, path) => {
  const directory = await mkdtemp(join(tmpdir(), 'cylestio-memory-'));
  stack = await startStack({
    type,
    interceptors: [
      { type: 'trace', enabled: true, config: { directory, max_body_size: MB } },
      { type: 'message_logger', enabled: true, config: { log_file: join(directory, 'messages.jsonl'), max_body_size: MB } },
    ],
  });
  await stream(stack, path, 1 * MB, () => undefined); // warm up: code paths compiled, buffers allocated
  gc();
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const received = await stream(stack, path, 100 * MB, () => {
    peak = Math.max(peak, process.memoryUsage.rss());
  });
  expect(received).toBeGreaterThan(100 * MB);
  peak = Math.max(peak, process.memoryUsage.rss()); // the trace and log are built after the last byte
  console.log(`${type}: 100 MB streamed, RSS ${Math.round(baseline / MB)} MB -> peak ${Math.round(peak / MB)} MB (+${Math.round((peak - baseline) / MB)} MB)`);
  expect(peak - baseline).toBeLessThan(BOUND);
}, 180_000);
