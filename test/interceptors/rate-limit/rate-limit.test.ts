// The rate_limit interceptor through HTTP: 429s in each provider's shape before the provider is called,
// exact under concurrent bursts, token budgets from reported (or estimated) usage, the official SDKs
// honouring Retry-After, an injected clock for windows, and counters shared through Redis.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { startRedis } from '../../helpers/redis-server.js';
import { anthropicBody, chatBody, figures, limitedStacks, post, reportedTokens } from './harness.js';

const limited = limitedStacks();

describe('per-session request limits', () => {
  it('admits exactly the limit out of 50 concurrent requests of one session; the rest get 429 before the provider', async () => {
    const stack = await limited({ per_session: { requests_per_minute: 10 } });
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => post(stack, chatBody(`q${i}`), { 'x-session-id': 'burst' })));
    const ok = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 429);
    expect([ok.length, refused.length]).toEqual([10, 40]);
    expect(stack.sim.requests.length).toBe(10);
    expect(ok.map((r) => Number(r.headers.get('x-ratelimit-remaining'))).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const r of ok) expect(r.headers.get('x-ratelimit-limit')).toBe('10');
    const sample = refused[0];
    expect(sample.headers.get('retry-after')).toBe('6');
    expect(sample.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(sample.headers.get('x-session-id')).toBe('burst');
    expect(await sample.json()).toEqual({
      error: { type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null, message: expect.stringContaining('session requests per minute') },
    });
    expect(await figures(stack)).toMatchObject({ allowed: 10, limited: 40, limited_session_requests_per_minute: 40 });
  });

  it('answers in the Anthropic shape, which the Anthropic SDK reads as a RateLimitError', async () => {
    const stack = await limited({ per_session: { requests_per_minute: 1 } }, { type: 'anthropic' });
    const client = new Anthropic({ apiKey: 'sk-client', baseURL: stack.url, maxRetries: 0 });
    const ask = () =>
      client.messages.create(
        { model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] },
        { headers: { 'x-session-id': 'anthropic-limited' } },
      );
    await ask();
    const error = await ask().then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect((error as InstanceType<typeof Anthropic.RateLimitError>).error).toEqual({
      type: 'error',
      error: { type: 'rate_limit_error', message: expect.any(String) },
    });
    expect((error as InstanceType<typeof Anthropic.RateLimitError>).headers.get('retry-after')).toBe('60');
  });

  for (const sdk of ['openai', 'anthropic'] as const) {
    it(`lets the ${sdk} SDK wait as long as Retry-After says and succeed on its retry`, async () => {
      // 600 per minute with no burst: one request every 100 ms, so the SDK's retry waits 100 ms. The gateway's
      // clock stands still but for the wait the 429 asked for: however slow this machine, the second request
      // comes too early and the retry just in time.
      let now = 1_700_000_000_000;
      const stack = await limited({ per_session: { requests_per_minute: 600, burst_size: 1 } }, { type: sdk, now: () => now });
      const seen: { status: number; retryAfter: string | null; retryAfterMs: string | null }[] = [];
      const recordingFetch: typeof fetch = async (input, init) => {
        const response = await fetch(input, init);
        seen.push({ status: response.status, retryAfter: response.headers.get('retry-after'), retryAfterMs: response.headers.get('retry-after-ms') });
        if (response.status === 429) now += Number(response.headers.get('retry-after-ms'));
        return response;
      };
      const headers = { 'x-session-id': `sdk-${sdk}` };
      if (sdk === 'openai') {
        const client = new OpenAI({ apiKey: 'sk-client', baseURL: `${stack.url}/v1`, maxRetries: 2, fetch: recordingFetch });
        for (let i = 0; i < 2; i++) await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `q${i}` }] }, { headers });
      } else {
        const client = new Anthropic({ apiKey: 'sk-client', baseURL: stack.url, maxRetries: 2, fetch: recordingFetch });
        for (let i = 0; i < 2; i++)
          await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: `q${i}` }] }, { headers });
      }
      expect(seen.map((s) => s.status)).toEqual([200, 429, 200]);
      expect(seen[1].retryAfter).toBe('1');
      expect(Number(seen[1].retryAfterMs)).toBeGreaterThan(0);
      expect(Number(seen[1].retryAfterMs)).toBeLessThanOrEqual(100);
    });
  }

  it('opens the window again as the (injected) clock moves', async () => {
    let now = 1_700_000_000_000;
    const stack = await limited({ per_session: { requests_per_minute: 2 } }, { now: () => now });
    const send = () => post(stack, chatBody('hello'), { 'x-session-id': 'clocked' });
    expect([(await send()).status, (await send()).status]).toEqual([200, 200]);
    const refused = await send();
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '30']);
    now += 29_999;
    expect((await send()).status).toBe(429);
    now += 1;
    expect((await send()).status).toBe(200);
  });

  it('spends a lifetime budget of requests per session, other sessions untouched', async () => {
    const stack = await limited({ per_session: { max_requests: 2 } });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post(stack, chatBody(`q${i}`), { 'x-session-id': 'budgeted' })).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect((await post(stack, chatBody('other'), { 'x-session-id': 'another' })).status).toBe(200);
    expect((await figures(stack)).limited_session_max_requests).toBe(1);
  });
});

describe('per-session token limits', () => {
  const cases = [
    { type: 'openai', stream: false },
    { type: 'openai', stream: true },
    { type: 'anthropic', stream: false },
    { type: 'anthropic', stream: true },
  ] as const;
  for (const { type, stream } of cases) {
    it(`counts the tokens the provider reported (${type} ${stream ? 'streamed' : 'JSON'})`, async () => {
      const stack = await limited({ per_session: { max_tokens: 100_000 } }, { type });
      const extra = type === 'openai' && stream ? { stream, stream_options: { include_usage: true } } : { stream };
      const bodyOf = type === 'openai' ? chatBody : anthropicBody;
      const first = await post(stack, bodyOf('tell me something about the sea', extra), { 'x-session-id': `tokens-${type}-${stream}` });
      const used = reportedTokens(await first.text());
      expect(used).toBeGreaterThan(0);
      const secondBody = bodyOf('and about rivers', extra);
      const second = await post(stack, secondBody, { 'x-session-id': `tokens-${type}-${stream}` });
      await second.text();
      // remaining = limit - tokens the first exchange used - the second request's reservation (its bytes / 4)
      expect(Number(second.headers.get('x-ratelimit-remaining'))).toBe(100_000 - used - Math.ceil(Buffer.byteLength(secondBody) / 4));
      expect((await figures(stack)).tokens_estimated).toBe(0);
    });
  }

  it('estimates from bytes when the provider reports no usage, and says so', async () => {
    const stack = await limited({ per_session: { max_tokens: 100_000 } });
    const body = chatBody('no usage here');
    const first = await post(stack, body, { 'x-session-id': 'estimated', 'x-sim-no-usage': '1' });
    const reply = ((await first.json()) as { choices: { message: { content: string } }[] }).choices[0].message.content;
    const secondBody = chatBody('again');
    const second = await post(stack, secondBody, { 'x-session-id': 'estimated' });
    const estimate = Math.ceil((Buffer.byteLength(body) + reply.length) / 4);
    expect(Number(second.headers.get('x-ratelimit-remaining'))).toBe(100_000 - estimate - Math.ceil(Buffer.byteLength(secondBody) / 4));
    expect((await figures(stack)).tokens_estimated).toBe(1);
  });

  it('refuses the next request once a session used its tokens for the hour', async () => {
    const stack = await limited({ per_session: { tokens_per_hour: 40 } });
    expect((await post(stack, chatBody('a question long enough to use some tokens'), { 'x-session-id': 'hourly' })).status).toBe(200);
    const refused = await post(stack, chatBody('more'), { 'x-session-id': 'hourly' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await figures(stack)).limited_session_tokens_per_hour).toBe(1);
  });
});

describe('per-client limits', () => {
  it('keys clients by a header, on every route, sessions or not', async () => {
    const stack = await limited({ per_client: { key: 'header', header_name: 'X-User-Id', requests_per_minute: 2 } });
    const as = (user: string) => post(stack, JSON.stringify({ model: 'text-embedding-3-small', input: 'x' }), { 'x-user-id': user }, '/v1/embeddings');
    expect([(await as('alice')).status, (await as('alice')).status, (await as('alice')).status]).toEqual([200, 200, 429]);
    expect((await as('bob')).status).toBe(200);
    expect((await figures(stack)).limited_client_requests_per_minute).toBe(1);
  });

  it("takes the guide's flat keys as a per-client limit by address", async () => {
    const stack = await limited({ requests_per_minute: 100, requests_per_hour: 3, key_extractor: 'ip' });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post(stack, chatBody(`q${i}`))).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe('counters shared through Redis', () => {
  it('holds one limit across two gateways: 20 concurrent requests, exactly 5 admitted', async () => {
    const { url } = await startRedis();
    const config = { per_session: { requests_per_minute: 5 }, backend: 'redis', connection: url, key_prefix: `rl-${Date.now()}-${Math.random()}:` };
    const [a, b] = [await limited(config), await limited(config)];
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => post(i % 2 ? a : b, chatBody(`q${i}`), { 'x-session-id': 'fleet' })));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(5);
    expect(a.sim.requests.length + b.sim.requests.length).toBe(5);
  });

  it('lets requests through, counted, while Redis is down', async () => {
    const redis = await startRedis({ fresh: true });
    const stack = await limited({ per_session: { requests_per_minute: 1 }, backend: 'redis', connection: redis.url });
    await redis.stop();
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post(stack, chatBody(`q${i}`), { 'x-session-id': 'no-redis' })).status);
    expect(statuses).toEqual([200, 200, 200]);
    expect((await figures(stack)).store_errors).toBe(3);
    expect(stack.logs.some((line) => String(line.msg).startsWith('rate limit counters unreachable'))).toBe(true);
  });

  it('refuses to start when its Redis is down', async () => {
    const redis = await startRedis({ fresh: true });
    await redis.stop();
    await expect(limited({ per_session: { requests_per_minute: 1 }, backend: 'redis', connection: redis.url })).rejects.toThrow(
      /rate_limit could not start: redis at 127\.0\.0\.1:\d+ is unreachable/,
    );
  });
});
