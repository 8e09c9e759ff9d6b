// Postgres as the durable record: session rows and one row per request (time, model, tokens, duration,
import { calcPrice } from '@pydantic/genai-prices';
// trace file), alone and beside Redis; a Postgres that is down at start stops the gateway from starting.
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { readTraceText } from '../../src/interceptors/trace/trace-reference.js';
import { buildGateway } from '../../src/server/app.js';
import { configSchema } from '../../src/config/schema.js';
import pino from 'pino';
import { startPostgres } from '../helpers/postgres-server.js';
import { startRedis } from '../helpers/redis-server.js';
import { freePort } from '../helpers/postgres-server.js';
import { closeStacks, Conversation, GatewayClient, openStack } from './helpers.js';

afterEach(closeStacks);

const schemaName = () => `e2e_${randomUUID().replaceAll('-', '')}`;

async function rows<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('postgres record', () => {
  for (const hot of ['postgres', 'redis'] as const) {
    it(`holds the session and its requests after the gateway stopped (${hot === 'postgres' ? 'postgres alone' : 'redis with a postgres record'})`, async () => {
      const { url } = await startPostgres();
      const schema = schemaName();
      const traces = await mkdtemp(join(tmpdir(), 'cylestio-pg-traces-'));
      const persistence =
        hot === 'postgres'
          ? { enabled: true, backend: 'postgres', connection: url, schema }
          : { enabled: true, backend: 'redis', connection: (await startRedis()).url, key_prefix: `${schema}:`, record: url, schema };
      const stack = await openStack({ type: 'anthropic', session: { persistence }, interceptors: [{ type: 'trace', config: { directory: traces } }] });
      const chat = new Conversation(new GatewayClient(stack), { stream: true });
      for (let turn = 0; turn < 3; turn++) await chat.say(`question number ${turn}`, { reply: `answer number ${turn}` });
      const sessionId = chat.sessionIds[0]!;
      // The sessions API reads the timeline from the record (rows are written in batches: poll).
      const timeline = async () => (await (await fetch(`${stack.url}/sessions/${sessionId}`)).json()) as { timeline_source: string; requests: unknown[] };
      await expect.poll(async () => (await timeline()).requests.length).toBe(3);
      expect((await timeline()).timeline_source).toBe('postgres');
      await closeStacks(); // a clean stop flushes the record

      const [session] = await rows<{ id: string; requests: string; input_tokens: string; output_tokens: string; rule: string }>(
        url,
        `SELECT id, requests, input_tokens, output_tokens, rule FROM ${schema}.sessions`,
      );
      expect(session).toMatchObject({ id: sessionId, requests: '3', rule: 'first' });
      expect(Number(session.output_tokens)).toBeGreaterThan(0);
      const requests = await rows<{
        request_id: string;
        model: string;
        status: number;
        duration_ms: number;
        input_tokens: number;
        output_tokens: number;
        cost_usd: number;
        stream: boolean;
        rule: string;
        trace_file: string;
      }>(url, `SELECT * FROM ${schema}.session_requests WHERE session_id = $1 ORDER BY time`, [sessionId]);
      expect(requests.map((r) => r.request_id)).toEqual(chat.turns.map((t) => t.requestId));
      expect(requests.map((r) => r.rule)).toEqual(['first', 'continued', 'continued']);
      for (const request of requests) {
        expect(request).toMatchObject({ model: 'claude-haiku-4-5', status: 200, stream: true });
        expect(request.duration_ms).toBeGreaterThan(0);
        expect(request.input_tokens).toBeGreaterThan(0);
        // Priced by the catalog, as the trace says.
        expect(request.cost_usd).toBeCloseTo(
          calcPrice({ input_tokens: request.input_tokens, output_tokens: request.output_tokens }, 'claude-haiku-4-5', { providerId: 'anthropic' })!.total_price,
          12,
        );
        // The trace named in the row is on disk: `<segment>#<offset>` is this request's line.
        expect(JSON.parse(await readTraceText(request.trace_file)).request_id).toBe(request.request_id);
      }
    });
  }

  it('refuses to start when Postgres is down, saying which address failed and never the password', async () => {
    const port = await freePort();
    const config = configSchema.parse({
      session: { persistence: { enabled: true, backend: 'postgres', connection: `postgres://gw:s3cretpw@127.0.0.1:${port}/db` } },
    });
    const failure = await buildGateway(config, pino({ level: 'silent' })).then(
      () => null,
      (err: Error) => err,
    );
    expect(failure?.message).toMatch(new RegExp(`session persistence \\(postgres\\) could not start: postgres at 127\\.0\\.0\\.1:${port} is unreachable`));
    expect(failure?.message).not.toContain('s3cretpw');
  });
});
