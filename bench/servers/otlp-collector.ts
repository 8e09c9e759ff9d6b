// Child process: a stand-in OpenTelemetry collector for the benchmark. Accepts OTLP/HTTP exports on any path,
// answers 200 at once and counts requests and bytes (GET /count), so the gateway's export cost is measured
// against a collector that is never the bottleneck.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveFromChild } from '../lib/server-process.js';

await serveFromChild('otlp-collector', async () => {
  const counts: Record<string, { requests: number; bytes: number }> = {};
  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/count') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(counts));
      return;
    }
    const seen = (counts[request.url ?? ''] ??= { requests: 0, bytes: 0 });
    request.on('data', (chunk: Buffer) => (seen.bytes += chunk.length));
    request.on('end', () => {
      seen.requests++;
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
});
