// Child process: the baseline. About the least a Node HTTP proxy can do: node:http server, buffer the
// request body, forward it with undici over a keep-alive pool, stream the answer back with backpressure.
// No JSON parsing, no logging, no sessions. The gap between this and the direct upstream is the cost of
// an extra hop in Node; the gap between the gateway and this is the cost of the gateway's own work.
//
// Usage: bare-proxy.ts <upstream url>

import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import { serveFromChild } from '../lib/server-process.js';

// RFC 9110 §7.6.1 connection-specific headers, plus `host` (undici sets it from the origin) and
// `content-length` on requests (undici sets it from the buffered body). Tokens listed in a `Connection`
// header are not honoured: clients of an LLM API do not send any, and parsing it is not "bare".
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function requestHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || name === 'host' || name === 'content-length') continue;
    out[name] = value;
  }
  return out;
}

function responseHeaders(headers: Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = value;
  }
  return out;
}

const upstreamUrl = process.argv[2];

await serveFromChild('bare-proxy', async () => {
  if (!upstreamUrl) throw new Error('usage: bare-proxy.ts <upstream url>');
  const origin = new URL(upstreamUrl).origin;
  // Same pool settings as the gateway's (src/upstream/pool.ts), so the comparison is about request handling.
  const agent = new Agent({ connections: 256, pipelining: 1, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });

  const server = http.createServer({ keepAlive: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = chunks.length === 0 ? null : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      // stream(): undici writes the body straight into the Writable the factory returns, pausing the
      // upstream socket when `res.write` reports backpressure, ending `res` at the end and aborting the
      // upstream request if `res` is destroyed (client gone). The cheapest correct relay undici offers.
      agent
        .stream(
          {
            origin,
            path: req.url ?? '/',
            method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
            headers: requestHeaders(req.headers),
            body,
          },
          ({ statusCode, headers }) => {
            res.writeHead(statusCode, responseHeaders(headers));
            return res;
          },
        )
        .catch((err: Error) => {
          if (!res.headersSent) {
            res.writeHead(502, { 'content-type': 'text/plain' });
            res.end(`bare proxy: upstream error: ${err.message}\n`);
          } else {
            res.destroy(err);
          }
        });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await agent.close();
    },
  };
});
