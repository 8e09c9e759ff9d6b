import { Writable } from 'node:stream';
import pino from 'pino';
import { configSchema, type GatewayConfig } from '../../src/config/schema.js';
import { buildGateway, type Gateway } from '../../src/server/app.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';

export interface Stack {
  sim: Simulator;
  gateway: Gateway;
  /** Gateway origin, e.g. http://127.0.0.1:PORT */
  url: string;
  config: GatewayConfig;
  /** Every log line the gateway wrote, parsed. */
  logs: Record<string, unknown>[];
  /** Raw log text, to check that no secret ever reaches it. */
  logText(): string;
  close(): Promise<void>;
}

export interface StackOptions {
  type?: 'openai' | 'anthropic';
  llm?: Record<string, unknown>;
  session?: Record<string, unknown>;
  server?: Record<string, unknown>;
  /** Upstream URL instead of a simulator (e.g. a closed port). */
  baseUrl?: string;
  interceptors?: Record<string, unknown>[];
  /** The `pricing:` section (overrides). */
  pricing?: Record<string, unknown>;
  /** Milliseconds clock for interceptors (rate-limit windows). */
  now?: () => number;
  /** The `telemetry:` section (OpenTelemetry export). */
  telemetry?: Record<string, unknown>;
  /** OTEL_* variables the gateway sees (default: none, so tests never depend on the runner's environment). */
  env?: NodeJS.ProcessEnv;
}

/** A simulated provider and a gateway in front of it, both on ephemeral loopback ports. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const sim = await startSimulator();
  const config = configSchema.parse({
    server: { host: '127.0.0.1', port: 0, ...options.server },
    llm: { type: options.type ?? 'openai', base_url: options.baseUrl ?? sim.url, api_key: 'sk-configured-secret', ...options.llm },
    session: options.session ?? {},
    pricing: options.pricing ?? {},
    interceptors: options.interceptors ?? [],
    telemetry: options.telemetry ?? {},
    logging: { level: 'debug', format: 'json' },
  });
  const chunks: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      const text = chunk.toString();
      chunks.push(text);
      for (const line of text.split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      done();
    },
  });
  const gateway = await buildGateway(config, pino({ level: 'debug' }, sink), { now: options.now, env: options.env ?? {} });
  const url = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  return {
    sim,
    gateway,
    url,
    config,
    logs,
    logText: () => chunks.join(''),
    async close() {
      await gateway.close();
      await sim.close();
    },
  };
}

/** The error a promise rejected with; fails when it resolved. */
export async function rejection<E = Error>(promise: Promise<unknown>): Promise<E> {
  try {
    await promise;
  } catch (err) {
    return err as E;
  }
  throw new Error('expected the promise to reject');
}
