// server.workers: N gateway processes on one port (node:cluster). With a shared store the conversations
// stay whole whichever worker serves each turn; with a process-local store the start is refused.
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { workersProblem } from '../../src/cli/workers.js';
import { configSchema } from '../../src/config/schema.js';
import { configFile, gatewayProcesses, runGatewayToExit } from '../helpers/gateway-process.js';
import { startRedis } from '../helpers/redis-server.js';

const gateways = gatewayProcesses();

/** One request on a connection of its own, so the cluster hands it to the next worker. */
function post(url: string, body: unknown): Promise<{ session: string; reply: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/chat/completions`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ session: String(res.headers['x-session-id']), reply: JSON.parse(text).choices[0].message.content }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('server.workers', () => {
  it('refuses more than one worker when sessions are kept per process', async () => {
    const config = await configFile(`server: {port: 0, workers: 2}\nllm: {type: openai, base_url: "http://127.0.0.1:9"}\n`);
    const outcome = await runGatewayToExit(config);
    expect(outcome.code).not.toBe(0);
    expect(outcome.stderr).toMatch(/server\.workers.*sessions are kept per process/s);
  });

  it('serves from several workers sharing Redis: every conversation keeps one session', async () => {
    const redis = await startRedis();
    const prefix = `workers-${Date.now()}:`;
    const config = await configFile(
      [
        'server: {host: 127.0.0.1, port: 0, workers: 2, shutdown_grace_seconds: 0}',
        `llm: {type: openai, base_url: "${gateways.simUrl()}", api_key: sk-test}`,
        `session: {persistence: {enabled: true, backend: redis, connection: "${redis.url}", key_prefix: "${prefix}"}}`,
        'logging: {format: json, level: info}',
      ].join('\n'),
    );
    const gateway = await gateways.start(config);
    // Both workers listen before the traffic starts (the helper returns at the first one's log line).
    while (gateway.logs.filter((line) => line.msg === 'cylestio gateway listening').length < 2) await new Promise((resolve) => setTimeout(resolve, 50));
    const conversations = Array.from({ length: 8 }, (_, i) => [{ role: 'user', content: `Conversation ${i}: hello` }] as { role: string; content: string }[]);
    const sessions: string[][] = conversations.map(() => []);
    for (let turn = 0; turn < 3; turn++) {
      await Promise.all(
        conversations.map(async (messages, i) => {
          const { session, reply } = await post(gateway.url, { model: 'gpt-4o-mini', messages });
          sessions[i].push(session);
          messages.push({ role: 'assistant', content: reply }, { role: 'user', content: `conversation ${i}, turn ${turn + 2}` });
        }),
      );
    }
    for (const ids of sessions) expect(new Set(ids).size).toBe(1);
    expect(new Set(sessions.map((ids) => ids[0])).size).toBe(8);
    const servedBy = new Set(gateway.logs.filter((line) => line.msg === 'request').map((line) => line.worker));
    expect(servedBy.size).toBe(2);
    expect(await gateway.stop('SIGTERM')).toBe(0);
  });
});

describe('workersProblem', () => {
  const config = (extra: Record<string, unknown>) => configSchema.parse({ server: { workers: 2 }, ...extra });
  it('accepts a shared store, and refuses per-worker rate-limit counters', () => {
    expect(workersProblem(config({ session: { persistence: { enabled: true, backend: 'postgres', connection: 'postgres://h/db' } } }))).toBeUndefined();
    const redis = { session: { persistence: { enabled: true, backend: 'redis', connection: 'redis://h' } } };
    expect(workersProblem(config({ ...redis, interceptors: [{ type: 'rate_limit', config: { per_session: { requests_per_minute: 5 } } }] }))).toBeUndefined();
    expect(workersProblem(config({ ...redis, interceptors: [{ type: 'rate_limit', config: { backend: 'memory' } }] }))).toMatch(
      /rate_limit counters would be per worker/,
    );
    expect(workersProblem(config({ session: { enabled: false } }))).toBeUndefined();
    expect(workersProblem(configSchema.parse({}))).toBeUndefined();
  });
});
