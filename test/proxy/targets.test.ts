// Request targets and the gateway's own paths: nothing outside llm.base_url's path reaches the provider,
// and no spelling of an admin path carries the admin token upstream.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { completeResponse, rawRequest } from './raw-http.js';

const ADMIN_TOKEN = 'adm-token-never-upstream';
let stack: Stack;
beforeEach(async () => {
  stack = await startStack({ server: { admin_token: ADMIN_TOKEN } });
});
afterEach(async () => stack.close());

const chat = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] });

function get(path: string, headers: Record<string, string> = {}) {
  const head = Object.entries({ host: 'gw', authorization: `Bearer ${ADMIN_TOKEN}`, ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return rawRequest(stack.url, `GET ${path} HTTP/1.1\r\n${head}connection: close\r\n\r\n`);
}

describe('near-miss spellings of admin paths', () => {
  const paths = [
    '/metrics/',
    '//sessions',
    '/Sessions',
    '/config/',
    '/CONFIG',
    '/metrics/prometheus/',
    '/sessions;x',
    '/Metrics/Prometheus',
    '/%73essions',
    '/health/',
  ];
  for (const path of paths) {
    it(`never forwards ${path} (nor the admin token) to the provider`, async () => {
      const answer = await get(path);
      expect(answer.status).not.toBeNull();
      expect(answer.text).not.toContain(ADMIN_TOKEN);
      expect(stack.sim.requests).toHaveLength(0);
    });
  }

  it('serves /ui/ as the web page, not the provider', async () => {
    const answer = await get('/ui/');
    expect(answer.status).toBe(200);
    expect(stack.sim.requests).toHaveLength(0);
  });
});

describe('the admin token on proxied routes', () => {
  it('is withheld from the provider: the configured key goes instead (Authorization)', async () => {
    const response = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: chat,
    });
    expect(response.status).toBe(200);
    expect(stack.sim.requests[0].headers.authorization).toBe('Bearer sk-configured-secret');
    expect(JSON.stringify(stack.sim.requests[0].headers)).not.toContain(ADMIN_TOKEN);
  });

  it('is withheld on pass-through paths and in any spelling of the scheme', async () => {
    for (const authorization of [`Bearer ${ADMIN_TOKEN}`, `bearer  ${ADMIN_TOKEN}`, `BEARER\t${ADMIN_TOKEN}`, ADMIN_TOKEN]) {
      await fetch(`${stack.url}/v1/files`, { headers: { authorization, 'x-api-key': ADMIN_TOKEN } });
    }
    expect(stack.sim.requests).toHaveLength(4);
    for (const request of stack.sim.requests) expect(JSON.stringify(request.headers)).not.toContain(ADMIN_TOKEN);
  });
});

describe('request targets', () => {
  it('refuses absolute-form targets (400) without calling the provider', async () => {
    const answer = await rawRequest(
      stack.url,
      'GET http://169.254.169.254/latest/meta-data HTTP/1.1\r\nhost: 169.254.169.254\r\nconnection: close\r\n\r\n',
      completeResponse,
    );
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('"code":"invalid_target"');
    expect(stack.sim.requests).toHaveLength(0);
  });

  for (const path of ['/v1/../../admin', '/v1/./models', '/v1/%2e%2e/secret', '/v1/%2E%2E/secret', '/v1%2fmodels', '/v1\\..\\x']) {
    it(`refuses ${path} (400) without calling the provider`, async () => {
      const answer = await rawRequest(stack.url, `GET ${path} HTTP/1.1\r\nhost: gw\r\nconnection: close\r\n\r\n`, completeResponse);
      expect(answer.status).toBe(400);
      expect(answer.text).toMatch(/"request_id":"[^"]+"/);
      expect(stack.sim.requests).toHaveLength(0);
    });
  }

  for (const path of ['//v1/chat/completions', '/v1/chat/completions/', '/v1//chat/completions', '/V1/Chat/Completions']) {
    it(`treats ${path} as the chat route: sessions apply and the provider sees the route's own path`, async () => {
      const response = await rawRequest(
        stack.url,
        `POST ${path} HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(chat)}\r\nconnection: close\r\n\r\n${chat}`,
        completeResponse,
      );
      expect(response.status).toBe(200);
      expect(response.text.toLowerCase()).toMatch(/\r\nx-session-id: sess_/);
      expect(stack.sim.requests.map((r) => r.path)).toEqual(['/v1/chat/completions']);
    });
  }

  it('refuses methods no provider API uses (405) without calling the provider', async () => {
    const answer = await rawRequest(stack.url, 'TRACE /v1/models HTTP/1.1\r\nhost: gw\r\nconnection: close\r\n\r\n', completeResponse);
    expect(answer.status).toBe(405);
    expect(answer.text).toContain('"code":"method_not_allowed"');
    expect(stack.sim.requests).toHaveLength(0);
  });
});
