// SIGTERM under load: in-flight exchanges finish, every queued trace is flushed, no partial file or line
// remains, in both trace layouts.
import http from 'node:http';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect, it } from 'vitest';
import { spawnCli } from '../helpers/cli-process.js';
import { tracesIn } from '../helpers/traces.js';

const IN_FLIGHT = 40;

it.each(['segments', 'files'])('flushes every trace of the requests in flight when stopped with SIGTERM (layout: %s)', async (layout) => {
  // An upstream that holds every answer until all requests have arrived and the gateway got SIGTERM.
  let arrived = 0;
  let allArrived!: () => void;
  const everyoneIn = new Promise<void>((resolve) => (allArrived = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const upstream = http.createServer((req, res) => {
    req.resume();
    if (++arrived === IN_FLIGHT) allArrived();
    void released.then(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'c',
          object: 'chat.completion',
          model: 'gpt-4o',
          choices: [{ index: 0, message: { role: 'assistant', content: `answer ${arrived}` }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const dir = await mkdtemp(join(tmpdir(), 'cylestio-shutdown-'));
  const traces = join(dir, 'traces');
  const config = join(dir, 'config.yaml');
  await writeFile(
    config,
    `server: {host: 127.0.0.1, port: 0}\nllm: {type: openai, base_url: "http://127.0.0.1:${(upstream.address() as AddressInfo).port}", api_key: sk-x}\n` +
      `interceptors:\n  - {type: trace, config: {directory: "${traces}", layout: ${layout}}}\nlogging: {level: info, format: json}\n`,
  );
  const child = spawnCli(['--config', config]);
  try {
    const address = await new Promise<string>((resolve) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const parsed = JSON.parse(line);
        if (parsed.msg === 'cylestio gateway listening') resolve(parsed.address);
      });
    });
    const responses = Array.from({ length: IN_FLIGHT }, (_, i) =>
      fetch(`${address}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: `q${i}` }] }),
      }),
    );
    await everyoneIn;
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    release();
    const statuses = await Promise.all(responses.map(async (response) => (await response).status));
    expect(statuses).toEqual(Array(IN_FLIGHT).fill(200));
    expect(await exited).toBe(0);
    const names = await readdir(traces);
    expect(names.filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(names).toHaveLength(layout === 'files' ? IN_FLIGHT : 1);
    // Strict: every file parses, every segment line is whole and ends with its newline.
    const written = await tracesIn(traces);
    expect(written).toHaveLength(IN_FLIGHT);
    for (const { trace } of written) expect(trace.response.status).toBe(200);
  } finally {
    child.kill('SIGKILL');
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  }
});
