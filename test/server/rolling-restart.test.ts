// A rolling restart must not lose requests: on SIGTERM the gateway reports not-ready, still answers every
// request that reached an accepted connection (with Connection: close), finishes in-flight ones and exits 0.
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { configFile, gatewayProcesses } from '../helpers/gateway-process.js';

const gateways = gatewayProcesses();

const body = (i: number) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `question ${i}` }] });

/** One request on a connection of its own (no pooling: each is a fresh accept on the gateway). */
function post(url: string, i: number, headers: Record<string, string> = {}): Promise<{ status: number; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/v1/chat/completions`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } });
    req.on('response', (res) => res.resume().on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection })));
    req.on('error', reject);
    req.end(body(i));
  });
}

async function configFor(extra: string): Promise<string> {
  return configFile(
    `server: {host: 127.0.0.1, port: 0${extra}}\nllm: {type: openai, base_url: "${gateways.simUrl()}", api_key: sk-x}\nlogging: {level: info, format: json}\n`,
  );
}

describe('SIGTERM', () => {
  it('answers all 30 concurrent requests sent 20 ms before it, then exits 0', async () => {
    const gw = await gateways.start(await configFor(''));
    // The provider takes 300 ms, so every request is in flight (or still on the wire) at the signal.
    const requests = Array.from({ length: 30 }, (_, i) =>
      post(gw.url, i, { 'x-sim-delay-ms': '300' }).then(
        (r) => r,
        (err: Error) => ({ status: 0, connection: err.message }),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 20)); // the scenario itself: a signal 20 ms into the burst
    const exit = gw.stop('SIGTERM');
    const answers = await Promise.all(requests);
    expect(answers.map((a) => a.status)).toEqual(Array(30).fill(200));
    expect(await exit).toBe(0);
  });

  it('reports not-ready during the grace period while still serving new connections with Connection: close', async () => {
    const gw = await gateways.start(await configFor(', shutdown_grace_seconds: 2'));
    expect((await fetch(`${gw.url}/ready`)).status).toBe(200);
    const exit = gw.stop('SIGTERM');
    // The drain starts when the process handles the signal: wait for /ready to say so.
    let ready = 200;
    while (ready === 200) ready = (await fetch(`${gw.url}/ready`, { headers: { connection: 'close' } })).status;
    expect(ready).toBe(503);
    const during = await post(gw.url, 1);
    expect(during).toEqual({ status: 200, connection: 'close' });
    expect(await exit).toBe(0);
  });
});
