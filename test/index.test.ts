// The library entry, imported by the package's own name as users do (it resolves to the build in dist/).
import { afterEach, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/index.js';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

it('createGateway from "cylestio-gateway" builds, starts, proxies and stops a gateway', async () => {
  const { createGateway } = await import('cylestio-gateway');
  sim = await startSimulator();
  const handle = await createGateway({ server: { host: '127.0.0.1', port: 0 }, llm: { base_url: sim.url, api_key: 'sk-lib' }, logging: { level: 'silent' } });
  const address = await handle.start();
  const response = await fetch(`${address}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] }),
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('x-session-id')).toMatch(/^sess_/);
  expect(handle.config.llm.base_url).toBe(sim.url);
  await handle.stop();
});

it('rejects an invalid configuration with every problem and its key path', async () => {
  const { createGateway, ConfigError } = await import('cylestio-gateway');
  const error = await createGateway({ server: { port: -1 }, llm: { type: 'nope' as 'openai' } }).catch((err: unknown) => err);
  expect(error).toBeInstanceOf(ConfigError);
  expect(String((error as Error).message)).toMatch(/server\.port[\s\S]*llm\.type|llm\.type[\s\S]*server\.port/);
});
