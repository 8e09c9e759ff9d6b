// Child process: the real gateway (sessions on, as deployed) in front of the upstream given as argv[2].
// With a directory as argv[3], the trace interceptor writes one file per exchange there.

import pino from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { buildGateway } from '../../src/server/app.js';
import { serveFromChild } from '../lib/server-process.js';

const upstreamUrl = process.argv[2];
const traceDirectory = process.argv[3];

await serveFromChild('gateway', async () => {
  if (!upstreamUrl) throw new Error('usage: gateway.ts <upstream url>');
  const config = configSchema.parse({
    llm: { type: 'openai', base_url: upstreamUrl, api_key: 'sk-bench' },
    logging: { level: 'error' },
    interceptors: traceDirectory ? [{ type: 'trace', config: { directory: traceDirectory } }] : [],
  });
  const gateway = await buildGateway(config, pino({ level: 'error' }));
  const url = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => gateway.close() };
});
