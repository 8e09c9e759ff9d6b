// The gateway's own endpoints and the HTTP surface around the proxy (CORS, hop-by-hop headers).
import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack({ llm: { api_key: 'sk-very-secret-key' }, session: { hash_key: 'hash-secret-value' } });
});
afterEach(async () => stack.close());

describe('admin endpoints', () => {
  it('GET /health reports status, service, timestamp and uptime', async () => {
    const response = await fetch(`${stack.url}/health`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ status: 'healthy', service: 'llm-proxy', uptime_seconds: expect.any(Number) });
    expect(Date.parse(body.timestamp)).not.toBeNaN();
    expect(stack.sim.requests).toHaveLength(0);
  });

  it('GET /config shows the effective config with every secret redacted', async () => {
    const response = await fetch(`${stack.url}/config`);
    const text = await response.text();
    expect(text).not.toContain('sk-very-secret-key');
    expect(text).not.toContain('hash-secret-value');
    const body = JSON.parse(text);
    expect(body.llm).toMatchObject({ type: 'openai', api_key: '[REDACTED]', base_url: stack.sim.url });
    expect(body.session.enabled).toBe(true);
    expect(body).toHaveProperty('server');
    expect(body).toHaveProperty('logging');
    expect(body.interceptors).toEqual([]);
  });
});

describe('CORS', () => {
  it('answers preflight requests with the allowed origin, methods and headers', async () => {
    const response = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
    });
    expect(response.status).toBeLessThan(300);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST, PUT, DELETE, OPTIONS');
    expect(response.headers.get('access-control-allow-headers')).toBe('Content-Type, Authorization');
    expect(stack.sim.requests).toHaveLength(0);
  });

  it('adds the CORS origin header to proxied answers', async () => {
    const response = await fetch(`${stack.url}/v1/models`, { headers: { origin: 'https://app.example', authorization: 'Bearer sk-browser-own-key' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-expose-headers')).toContain('X-Session-ID');
  });
});

describe('pass-through', () => {
  it('forwards any other method and path unchanged, minus hop-by-hop headers', async () => {
    // undici's fetch refuses to send a Connection header, so this client is node:http.
    const { status, headers, body } = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = http.request(`${stack.url}/echo/v1/files/abc?limit=2`, {
        method: 'DELETE',
        headers: { 'x-custom': 'kept', 'proxy-authorization': 'Basic Zm9vOmJhcg==', connection: 'keep-alive, x-drop-me', 'x-drop-me': 'gone' },
      });
      req.on('response', (res) => {
        let text = '';
        res
          .setEncoding('utf8')
          .on('data', (chunk) => (text += chunk))
          .on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      });
      req.on('error', reject).end();
    });
    expect(status).toBe(200);
    expect(headers['x-provider']).toBe('openai');
    const echo = JSON.parse(body);
    expect(echo.method).toBe('DELETE');
    expect(echo.path).toBe('/echo/v1/files/abc?limit=2');
    expect(echo.headers['x-custom']).toBe('kept');
    expect(echo.headers['proxy-authorization']).toBeUndefined();
    expect(echo.headers['x-drop-me']).toBeUndefined();
    expect(echo.headers.authorization).toBe('Bearer sk-very-secret-key');
  });
});
