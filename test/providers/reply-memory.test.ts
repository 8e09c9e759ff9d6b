// Memory stays bounded whatever the reply size (docs/interceptors.md, "Reply size"): 100 MB streamed through
// the gateway with traces and the message log on must not grow its process by more than a fixed amount.
// The gateway runs in this process (startStack), so the process's memory is the gateway's (plus the
// simulator's, which produces the reply lazily and holds none of it, and the client's, which drops it).
// A full collection every 8 MB received makes the figures what the gateway keeps alive, not how far V8
// lets garbage pile up before collecting (that slack depends on the machine's load, not on the reply: an
// unbounded gateway would keep the 100 MB alive and fail either way).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, expect, it } from 'vitest';
import { openAiAdapter } from '../../src/providers/openai/index.js';
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

/** Live memory: what stays after a full collection. */
const live = () => {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
};

async function stream(s: Stack, path: string, bytes: number, onChunk: (received: number) => void): Promise<number> {
  const body = {
    model: 'm',
    max_tokens: 10,
    stream: true,
    messages: [{ role: 'user', content: 'Everything, at length' }],
    stream_options: { include_usage: true },
  };
  const response = await fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sim-reply-bytes': String(bytes), 'x-sim-delta-bytes': '8000' },
    body: JSON.stringify(body),
  });
  let received = 0;
  for await (const chunk of response.body!) {
    received += (chunk as Uint8Array).length;
    onChunk(received);
  }
  return received;
}

it.each([
  ['openai', '/v1/chat/completions'],
  ['anthropic', '/v1/messages'],
] as const)(
  '%s: a 100 MB streamed reply grows the gateway by less than 64 MB (traces and message log on)',
  async (type, path) => {
    const directory = await mkdtemp(join(tmpdir(), 'cylestio-memory-'));
    stack = await startStack({
      type,
      interceptors: [
        { type: 'trace', enabled: true, config: { directory, max_body_size: MB } },
        { type: 'message_logger', enabled: true, config: { log_file: join(directory, 'messages.jsonl'), max_body_size: MB } },
      ],
    });
    await stream(stack, path, 1 * MB, () => undefined); // warm up: code paths compiled, buffers allocated
    const baseLive = live();
    const baseline = process.memoryUsage.rss();
    let peak = baseline;
    let peakLive = baseLive;
    let next = 8 * MB;
    const received = await stream(stack, path, 100 * MB, (at) => {
      peak = Math.max(peak, process.memoryUsage.rss());
      if (at < next) return;
      next += 8 * MB;
      peakLive = Math.max(peakLive, live());
    });
    expect(received).toBeGreaterThan(100 * MB);
    await stack.close(); // the trace and log line written
    stack = undefined;
    peak = Math.max(peak, process.memoryUsage.rss());
    const mb = (bytes: number) => Math.round(bytes / MB);
    console.log(
      `${type}: 100 MB streamed, RSS ${mb(baseline)} MB -> peak ${mb(peak)} MB (+${mb(peak - baseline)} MB); live +${mb(peakLive - baseLive)} MB at most`,
    );
    expect(peakLive - baseLive).toBeLessThan(BOUND);
    expect(peak - baseline).toBeLessThan(BOUND);
  },
  180_000,
);

it('a 100 MB JSON completion is read (and its session form computed) in the same bound', () => {
  // Decoder level: a simulator would have to build the body in memory, hiding the gateway's share.
  const decoder = openAiAdapter.operations.find((o) => o.name === 'chat.completions')!.decoder!('application/json');
  const filler = Buffer.from('lorem ipsum dolor sit amet, '.repeat(2341)); // 65,548 bytes
  const baseLive = live();
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  let peakLive = baseLive;
  decoder.onChunk(Buffer.from('{"object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"'));
  for (let sent = 0; sent < 100 * MB; sent += filler.length) {
    decoder.onChunk(filler);
    peak = Math.max(peak, process.memoryUsage.rss());
    if (sent % (8 * MB) < filler.length) peakLive = Math.max(peakLive, live());
  }
  decoder.onChunk(Buffer.from('"}}],"usage":{"prompt_tokens":1,"completion_tokens":2}}'));
  const reply = decoder.end()!;
  peak = Math.max(peak, process.memoryUsage.rss());
  console.log(
    `JSON: 100 MB decoded, RSS ${Math.round(baseline / MB)} MB -> peak ${Math.round(peak / MB)} MB (+${Math.round((peak - baseline) / MB)} MB); live +${Math.round((peakLive - baseLive) / MB)} MB at most`,
  );
  expect(reply.replies[0].text).toMatch(/^\u0002long:\d+:[0-9a-f]{64}$/);
  expect(reply.usage?.output_tokens).toBe(2);
  expect(peakLive - baseLive).toBeLessThan(BOUND);
  expect(peak - baseline).toBeLessThan(BOUND);
}, 180_000);
