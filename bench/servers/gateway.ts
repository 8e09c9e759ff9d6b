// Child process: the real gateway (sessions on, as deployed) in front of the upstream given as argv[2].

import pino from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { buildGateway } from '../../src/server/app.js';
import { serveFromChild } from '../lib/server-process.js';

const upstreamUrl = process.argv[2];

await serveFromChild('gateway', async () => {
  if (!upstreamUrl) throw new Error('usage: gateway.ts <upstream url>');
  const config = configSchema.parse({
    llm: { type: 'openai', base_url: upstreamUrl, api_key: 'sk-bench' },
    logging: { level: 'error' },
  });
  const gateway = await buildGateway(config, pino({ level: 'error' }));
  const url = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => gateway.close() };
});
