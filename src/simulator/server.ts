// The simulated upstream: a plain node:http server (no framework, so per-request cost stays tiny for
// the benchmark) that routes to the OpenAI/Anthropic emulations, records requests for assertions and
// applies the `x-sim-*` test controls.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicModels, countTokens, messages } from './anthropic.js';
import type { Provider } from './errors.js';
import { chatCompletions } from './openai-chat.js';
import { responses } from './openai-responses.js';
import { completions, embeddings, openaiModels } from './openai.js';
import { readControls, sendError, sendJson, waitUnlessClosed, type SimContext } from './respond.js';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or undefined when the body was empty or not JSON. */
  body: unknown;
  rawBody: Buffer;
}

export interface SimulatorOptions {
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** When set, provider routes answer 401 unless `authorization: Bearer <key>` or `x-api-key: <key>` matches. */
  requireApiKey?: string;
  /** Default true; the benchmark turns it off so memory stays flat. */
  record?: boolean;
}

export interface Simulator {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Requests whose client connection closed before the response was finished. */
  abortedCount: number;
  /** Resolves at the next abort, or immediately if one happened since the previous call. */
  waitForAbort(): Promise<void>;
  /** Clears recorded requests and counters. */
  reset(): void;
  /** Closes the server and destroys open sockets. */
  close(): Promise<void>;
}

interface Route {
  provider: Provider;
  /** JSON routes reject unparseable bodies with a provider-shaped 400. */
  json: boolean;
  handle(ctx: SimContext): Promise<void> | void;
}

const ROUTES: Record<string, Route> = {
  'POST /v1/chat/completions': { provider: 'openai', json: true, handle: chatCompletions },
  'POST /v1/completions': { provider: 'openai', json: true, handle: completions },
  'POST /v1/embeddings': { provider: 'openai', json: true, handle: embeddings },
  'POST /v1/responses': { provider: 'openai', json: true, handle: responses },
  'GET /v1/models': { provider: 'openai', json: false, handle: openaiModels },
  'POST /v1/messages': { provider: 'anthropic', json: true, handle: messages },
  'POST /v1/messages/count_tokens': { provider: 'anthropic', json: true, handle: countTokens },
};

// Both providers serve GET /v1/models; Anthropic's SDK always sends `anthropic-version`, which picks its shape.
const ANTHROPIC_MODELS_ROUTE: Route = { provider: 'anthropic', json: false, handle: anthropicModels };

/** Pass-through test route: reflects exactly what arrived (method, path with query, headers, raw body). */
const ECHO_ROUTE: Route = {
  provider: 'openai',
  json: false,
  handle: (ctx) =>
    sendJson(ctx, 200, {
      method: ctx.req.method,
      path: ctx.req.url,
      headers: ctx.req.headers,
      body: ctx.rawBody.toString('utf8'),
    }),
};

function findRoute(req: IncomingMessage, pathname: string): Route | undefined {
  if (pathname === '/echo' || pathname.startsWith('/echo/')) return ECHO_ROUTE;
  if (pathname === '/v1/models' && req.method === 'GET' && req.headers['anthropic-version'] !== undefined) {
    return ANTHROPIC_MODELS_ROUTE;
  }
  return ROUTES[`${req.method} ${pathname}`];
}

function hasKey(req: IncomingMessage, key: string): boolean {
  const auth = req.headers.authorization;
  return auth === `Bearer ${key}` || req.headers['x-api-key'] === key;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const host = options.host ?? '127.0.0.1';
  const record = options.record !== false;
  const requests: RecordedRequest[] = [];
  let abortedCount = 0;
  let abortsSeenByWaiters = 0;
  let waiters: Array<() => void> = [];
  let seq = 0;

  function onAbort(): void {
    abortedCount++;
    if (waiters.length === 0) return;
    abortsSeenByWaiters = abortedCount;
    const ready = waiters;
    waiters = [];
    for (const resolve of ready) resolve();
  }

  async function respond(ctx: SimContext, route: Route | undefined, pathname: string): Promise<void> {
    const { req, controls } = ctx;
    if (controls.delayMs > 0 && !(await waitUnlessClosed(ctx, controls.delayMs))) return;
    if (!route) return sendError(ctx, 404, `Invalid URL (${req.method} ${pathname})`);
    // The echo route stays open so pass-through tests can inspect whatever credentials arrived.
    if (options.requireApiKey !== undefined && route !== ECHO_ROUTE && !hasKey(req, options.requireApiKey)) {
      return sendError(ctx, 401);
    }
    if (controls.status !== undefined) return sendError(ctx, controls.status);
    if (route.json && (typeof ctx.body !== 'object' || ctx.body === null || Array.isArray(ctx.body))) {
      return sendError(
        ctx,
        400,
        ctx.provider === 'anthropic' ? 'There was an error parsing the body of your request.' : 'We could not parse the JSON body of your request.',
      );
    }
    await route.handle(ctx);
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const pathname = (req.url ?? '/').split('?', 1)[0];
    const route = findRoute(req, pathname);
    const ctx: SimContext = {
      req,
      res,
      provider: route?.provider ?? 'openai',
      body: {},
      rawBody: Buffer.alloc(0),
      controls: readControls(req),
      startedAt: Date.now(),
      seq: seq++,
      closed: false,
    };
    // Listened to from the start, so a client that gives up while we delay or stream is counted.
    res.on('close', () => {
      ctx.closed = true;
      if (!res.writableFinished) onAbort();
    });
    // Writes racing a disconnect may error; the close handler above already accounts for it.
    res.on('error', () => {});

    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      let body: unknown;
      if (rawBody.length > 0) {
        try {
          body = JSON.parse(rawBody.toString('utf8'));
        } catch {
          body = undefined;
        }
      }
      if (record) {
        requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body, rawBody });
      }
      ctx.rawBody = rawBody;
      ctx.body = body as Record<string, any>;
      respond(ctx, route, pathname).catch((err: unknown) => {
        // A bug in a handler must not hang the client: answer 500 if we still can, else drop the socket.
        if (!res.headersSent) sendError(ctx, 500, `Simulator error: ${(err as Error)?.message ?? String(err)}`);
        else res.destroy();
      });
    });
  }

  const server = http.createServer({ keepAlive: true }, onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    requests,
    get abortedCount() {
      return abortedCount;
    },
    waitForAbort(): Promise<void> {
      if (abortedCount > abortsSeenByWaiters) {
        abortsSeenByWaiters = abortedCount;
        return Promise.resolve();
      }
      return new Promise((resolve) => waiters.push(resolve));
    },
    reset(): void {
      // Emptied in place so callers holding `sim.requests` see the reset too.
      requests.length = 0;
      abortedCount = 0;
      abortsSeenByWaiters = 0;
    },
    close(): Promise<void> {
      return new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
