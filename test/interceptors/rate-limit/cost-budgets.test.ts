// Cost budgets of the rate_limit interceptor through HTTP. The rules under test: a cost limit admits while
// the spend so far is below it (the request that crosses it is answered, the next one refused); a request
// is charged an estimate of its input when admitted and settled with the exchange's priced cost; a model
// without a price is never refused because of a guessed price and is counted; a reply without usage is
// still charged (estimated), a request the provider never answered is refunded; a client's budget is shared
// by its sessions and lasts a budget period; two gateways on one Redis hold one budget, to the micro-dollar;
// concurrent requests overshoot a budget by at most those in flight when it is crossed.
// Prices come from the catalog the gateway uses, never from numbers written here.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { calcPrice } from '@pydantic/genai-prices';
import { startRedis } from '../../helpers/redis-server.js';
import type { Stack } from '../../helpers/stack.js';
import { anthropicBody, chatBody, figures, limitedStacks, post, reportedUsage } from './harness.js';

const limited = limitedStacks();
const T0 = 1_700_000_000_000;
const HOUR_MS = 3_600_000;
const SESSION_TTL_S = 3600; // the gateway's default session.session_ttl_seconds

/** Micro-dollars of input and output tokens of a model, straight from the price package (not the gateway's code). */
function priceOf(provider: string, model: string, input: number, output: number): number {
  const price = calcPrice({ input_tokens: input, output_tokens: output }, model, { providerId: provider });
  if (!price) throw new Error(`the price package has no price for ${model}`);
  return Math.round(price.total_price * 1_000_000);
}

/** A budget in USD that is a whole number of micro-dollars (what the gateway counts in). */
const usdOf = (micros: number) => micros / 1_000_000;

/** What an answered exchange cost, from the usage its reply reported, priced by the catalog. */
async function spentBy(response: Response, provider: string, model: string): Promise<number> {
  const usage = reportedUsage(await response.text());
  expect(usage.output_tokens).toBeGreaterThan(0);
  return priceOf(provider, model, usage.input_tokens, usage.output_tokens);
}

interface Run {
  statuses: number[];
  /** Micro-dollars spent before each request, by the usage of the answered ones. */
  spentBefore: number[];
  spent: number;
  refused: Response | null;
}

/** Sends requests one after another until one is refused (or `max` were sent), adding up their cost. */
async function spendUntilRefused(send: (i: number) => Promise<Response>, provider: string, model: string, max = 60): Promise<Run> {
  const run: Run = { statuses: [], spentBefore: [], spent: 0, refused: null };
  for (let i = 0; i < max; i++) {
    run.spentBefore.push(run.spent);
    const response = await send(i);
    run.statuses.push(response.status);
    if (response.status !== 200) {
      run.refused = response;
      break;
    }
    run.spent += await spentBy(response, provider, model);
  }
  return run;
}

/** The crossing rule: every request before the spend reached the limit was answered; the first after it refused. */
function expectCrossedAt(run: Run, limitMicros: number): void {
  const admitted = run.statuses.filter((status) => status === 200).length;
  expect(admitted).toBeGreaterThanOrEqual(2);
  expect(run.statuses).toEqual([...Array(admitted).fill(200), 429]);
  // The last one answered was the crossing one: below the limit before it, at or over it after.
  expect(run.spentBefore[admitted - 1]).toBeLessThan(limitMicros);
  expect(run.spentBefore[admitted]).toBeGreaterThanOrEqual(limitMicros);
}

const shapes = [
  { type: 'openai', stream: false, provider: 'openai', model: 'gpt-4o' },
  { type: 'openai', stream: true, provider: 'openai', model: 'gpt-4o' },
  { type: 'anthropic', stream: false, provider: 'anthropic', model: 'claude-haiku-4-5' },
  { type: 'anthropic', stream: true, provider: 'anthropic', model: 'claude-haiku-4-5' },
] as const;

describe('per-session max_cost_usd', () => {
  for (const { type, stream, provider, model } of shapes) {
    it(`answers the request that crosses the budget and refuses the next (${type} ${stream ? 'streamed' : 'JSON'})`, async () => {
      // About ten exchanges' worth: the count does not matter, only where the spend crosses the limit.
      const budget = priceOf(provider, model, 300, 200);
      const stack = await limited({ per_session: { max_cost_usd: usdOf(budget) } }, { type, now: () => T0 });
      const extra = type === 'openai' && stream ? { stream, stream_options: { include_usage: true } } : { stream };
      const bodyOf = type === 'openai' ? chatBody : anthropicBody;
      const session = `cost-${type}-${stream}`;
      const run = await spendUntilRefused((i) => post(stack, bodyOf(`question ${i} about the sea`, extra), { 'x-session-id': session }), provider, model);
      expectCrossedAt(run, budget);
      expect(stack.sim.requests.length).toBe(run.statuses.length - 1);

      const refused = run.refused!;
      // A lifetime budget is whole again when its counter is gone: the session TTL after its last charge.
      expect(refused.headers.get('retry-after')).toBe(String(SESSION_TTL_S));
      // Headers describe the refusing limit, in micro-dollars.
      expect(refused.headers.get('x-ratelimit-limit')).toBe(String(budget));
      expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
      const message = expect.stringMatching(new RegExp(`session max cost usd \\(\\$${String(usdOf(budget)).replace('.', '\\.')}\\)`));
      expect(await refused.json()).toEqual(
        type === 'openai'
          ? { error: { type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null, message } }
          : { type: 'error', error: { type: 'rate_limit_error', message } },
      );
      // Another session of the same client has its own budget.
      expect((await post(stack, bodyOf('a fresh start', extra), { 'x-session-id': `${session}-other` })).status).toBe(200);
      expect(await figures(stack)).toMatchObject({ limited: 1, limited_session_max_cost_usd: 1, cost_estimated: 0, cost_unpriced: 0 });
    });
  }

  it('shows request limits in X-RateLimit-* while a cost limit admits, the cost limit only when it refuses', async () => {
    const budget = priceOf('openai', 'gpt-4o', 100, 50);
    const stack = await limited({ per_session: { requests_per_minute: 100, max_cost_usd: usdOf(budget) } }, { now: () => T0 });
    const first = await post(stack, chatBody('hello there'), { 'x-session-id': 'headers' });
    expect([first.status, first.headers.get('x-ratelimit-limit')]).toEqual([200, '100']);
    await first.text();
    const run = await spendUntilRefused(() => post(stack, chatBody('hello there'), { 'x-session-id': 'headers' }), 'openai', 'gpt-4o');
    expect(run.refused!.headers.get('x-ratelimit-limit')).toBe(String(budget));

    const costOnly = await limited({ per_session: { max_cost_usd: 1 } });
    const admitted = await post(costOnly, chatBody('hello'), { 'x-session-id': 'cost-only' });
    expect([admitted.status, admitted.headers.get('x-ratelimit-limit')]).toEqual([200, null]);
  });

  it('charges a reply that reported no usage (an OpenAI stream without include_usage) by an estimate', async () => {
    // The attacker's way around a cost budget: ask for a stream that carries no usage, so nothing is priced.
    const budget = priceOf('openai', 'gpt-4o', 300, 200);
    const stack = await limited({ per_session: { max_cost_usd: usdOf(budget) } }, { now: () => T0 });
    const statuses: number[] = [];
    for (let i = 0; i < 60 && statuses.at(-1) !== 429; i++) {
      const response = await post(stack, chatBody(`question ${i} about the sea`, { stream: true }), { 'x-session-id': 'no-usage' });
      statuses.push(response.status);
      await response.text();
    }
    expect(statuses.at(-1)).toBe(429);
    const admitted = statuses.length - 1;
    expect(admitted).toBeGreaterThanOrEqual(2);
    expect(await figures(stack)).toMatchObject({ cost_estimated: admitted, limited_session_max_cost_usd: 1 });
  });

  it('keeps charging a stream the client left before its usage arrived', async () => {
    const bytesPerToken = 4;
    const body = chatBody('a long story please', { stream: true, stream_options: { include_usage: true } });
    const estimate = priceOf('openai', 'gpt-4o', Math.ceil(Buffer.byteLength(body) / bytesPerToken), 0);
    // Room for two input estimates: the third stream left early would be refused if the first two are charged.
    const stack = await limited({ per_session: { max_cost_usd: usdOf(2 * estimate) }, bytes_per_token: bytesPerToken }, { now: () => T0 });
    for (let i = 0; i < 2; i++) {
      const controller = new AbortController();
      const response = await post(stack, body, { 'x-session-id': 'leaver', 'x-sim-chunk-delay-ms': '200' }, undefined, controller.signal);
      expect(response.status).toBe(200);
      await response.body!.getReader().read(); // the stream is open and answering
      controller.abort();
      await expect.poll(async () => (await figures(stack)).cost_estimated).toBe(i + 1);
    }
    expect((await post(stack, body, { 'x-session-id': 'leaver' })).status).toBe(429);
  });

  it('refunds the estimate of requests the provider failed (no usage, no bill)', async () => {
    const bytesPerToken = 4;
    const body = chatBody('a question the provider will fail');
    const estimate = priceOf('openai', 'gpt-4o', Math.ceil(Buffer.byteLength(body) / bytesPerToken), 0);
    // Three estimates would reach the budget if they were kept.
    const stack = await limited({ per_session: { max_cost_usd: usdOf(3 * estimate) }, bytes_per_token: bytesPerToken }, { now: () => T0 });
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await post(stack, body, { 'x-session-id': 'failing', 'x-sim-status': '500' })).status);
    expect(statuses).toEqual([500, 500, 500, 500, 500, 500]);
    const closed = await limited(
      { per_session: { max_cost_usd: usdOf(3 * estimate) }, bytes_per_token: bytesPerToken },
      { baseUrl: 'http://127.0.0.1:9', now: () => T0 },
    );
    const unreachable = [];
    for (let i = 0; i < 6; i++) unreachable.push((await post(closed, body, { 'x-session-id': 'unreachable' })).status);
    expect(unreachable.every((status) => status === 502)).toBe(true);
    expect(await figures(stack)).toMatchObject({ limited: 0, cost_estimated: 0 });
  });
});

describe('per-session cost_per_hour_usd', () => {
  it('refuses once the hour is spent and admits again as soon as the (injected) clock says the spend is under', async () => {
    let now = T0;
    const perHour = priceOf('openai', 'gpt-4o', 300, 200);
    const stack = await limited({ per_session: { cost_per_hour_usd: usdOf(perHour) } }, { now: () => now });
    const send = (i: number) => post(stack, chatBody(`question ${i} about rivers`), { 'x-session-id': 'hourly-cost' });
    const run = await spendUntilRefused(send, 'openai', 'gpt-4o');
    expectCrossedAt(run, perHour);
    const refused = run.refused!;
    const waitMs = Number(refused.headers.get('retry-after-ms'));
    // The bucket drains at the hourly rate: the spend over the limit takes (over / limit) of an hour.
    const expected = ((run.spent - perHour) / perHour) * HOUR_MS;
    expect(Math.abs(waitMs - expected)).toBeLessThanOrEqual(1);
    expect(refused.headers.get('retry-after')).toBe(String(Math.ceil(waitMs / 1000)));
    expect(await refused.json()).toMatchObject({ error: { message: expect.stringContaining('session cost per hour usd') } });
    now += waitMs - 1;
    expect((await send(100)).status).toBe(429);
    now += 1;
    const readmitted = await send(101);
    expect(readmitted.status).toBe(200);
    await readmitted.text();
    // It crossed the limit again: refused again.
    expect((await send(102)).status).toBe(429);
    expect((await figures(stack)).limited_session_cost_per_hour_usd).toBe(3);
  });
});

describe('per-client cost limits', () => {
  it('holds one budget for all the sessions of a client, another for another client, for budget_days', async () => {
    let now = T0;
    const budget = priceOf('openai', 'gpt-4o', 300, 200);
    const stack = await limited({ per_client: { key: 'header', header_name: 'X-User-Id', max_cost_usd: usdOf(budget), budget_days: 7 } }, { now: () => now });
    const as = (user: string, i: number) =>
      post(stack, chatBody(`question ${i} about lakes`), { 'x-user-id': user, 'x-session-id': `${user}-session-${i % 3}` });
    // Alice's first charge opens the period; the rest of her spending comes a day later.
    const first = await as('alice', -1);
    const firstSpent = await spentBy(first, 'openai', 'gpt-4o');
    now += 86_400_000;
    const run = await spendUntilRefused((i) => as('alice', i), 'openai', 'gpt-4o');
    expectCrossedAt(run, budget - firstSpent);
    // The period runs from the first charge: 6 days are left (a period restarted by each charge would say 7).
    expect(run.refused!.headers.get('retry-after')).toBe(String(6 * 86_400));
    expect(await run.refused!.json()).toMatchObject({ error: { message: expect.stringContaining('client max cost usd') } });
    expect((await as('alice', 99)).status).toBe(429); // any session of hers
    expect((await as('bob', 0)).status).toBe(200);

    now += 3 * 86_400_000;
    const later = await as('alice', 100);
    expect([later.status, later.headers.get('retry-after')]).toEqual([429, String(3 * 86_400)]);
    now += 3 * 86_400_000;
    expect((await as('alice', 101)).status).toBe(200); // a new period
    expect((await figures(stack)).limited_client_max_cost_usd).toBe(3);
  });

  it('limits a client per hour by cost, whatever its sessions', async () => {
    let now = T0;
    const perHour = priceOf('anthropic', 'claude-haiku-4-5', 300, 200);
    const stack = await limited({ per_client: { key: 'credential', cost_per_hour_usd: usdOf(perHour) } }, { type: 'anthropic', now: () => now });
    const run = await spendUntilRefused((i) => post(stack, anthropicBody(`question ${i}`), { 'x-session-id': `s${i}` }), 'anthropic', 'claude-haiku-4-5');
    expectCrossedAt(run, perHour);
    expect(await run.refused!.json()).toEqual({
      type: 'error',
      error: { type: 'rate_limit_error', message: expect.stringContaining('client cost per hour usd') },
    });
    now += HOUR_MS;
    expect((await post(stack, anthropicBody('an hour later'), { 'x-session-id': 'late' })).status).toBe(200);
  });
});

describe('models without a price', () => {
  it('are never refused because of a guessed price, and are counted', async () => {
    // One micro-dollar: any priced request would cross it.
    const stack = await limited({ per_session: { max_cost_usd: 0.000001 }, per_client: { max_cost_usd: 0.000001, cost_per_hour_usd: 0.000001 } });
    const unknown = (i: number, extra: Record<string, unknown> = {}) =>
      post(stack, JSON.stringify({ model: 'acme-private-llm', messages: [{ role: 'user', content: `q${i}` }], ...extra }), { 'x-session-id': 'private' });
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      const response = await unknown(i, i % 2 ? { stream: true } : {});
      statuses.push(response.status);
      await response.text();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(await figures(stack)).toMatchObject({ limited: 0, cost_unpriced: 5, cost_estimated: 0 });
  });

  it('are refused once priced requests spent the budget (the spend is real, not a guess)', async () => {
    const stack = await limited({ per_session: { max_cost_usd: 0.000001 } });
    const priced = await post(stack, chatBody('a priced question'), { 'x-session-id': 'mixed' });
    expect(priced.status).toBe(200);
    await priced.text();
    const unknown = await post(stack, JSON.stringify({ model: 'acme-private-llm', messages: [{ role: 'user', content: 'q' }] }), { 'x-session-id': 'mixed' });
    expect(unknown.status).toBe(429);
  });

  it('are priced by pricing.overrides', async () => {
    const overrides = { 'acme-private-llm': { input: 1000, output: 1000 } };
    const stack = await limited({ per_session: { max_cost_usd: 0.01 } }, { pricing: { overrides } });
    const send = () =>
      post(stack, JSON.stringify({ model: 'acme-private-llm', messages: [{ role: 'user', content: 'a question' }] }), { 'x-session-id': 'override' });
    const statuses = [];
    for (let i = 0; i < 20 && statuses.at(-1) !== 429; i++) {
      const response = await send();
      statuses.push(response.status);
      await response.text();
    }
    expect(statuses.at(-1)).toBe(429);
    expect((await figures(stack)).cost_unpriced).toBe(0);
  });
});

describe('concurrent requests against a cost budget', () => {
  const backends = ['memory', 'redis'] as const;
  for (const backend of backends) {
    it(`admits only while the estimates of the requests in flight leave something (${backend})`, async () => {
      const bytesPerToken = 4;
      const body = chatBody('the same question, many times at once');
      const estimate = priceOf('openai', 'gpt-4o', Math.ceil(Buffer.byteLength(body) / bytesPerToken), 0);
      // Room for three estimates and a half: the fourth request crosses the budget, the rest are refused.
      const budget = Math.floor(3.5 * estimate);
      const config: Record<string, unknown> = { per_session: { max_cost_usd: usdOf(budget) }, bytes_per_token: bytesPerToken };
      let gateways: Stack[];
      if (backend === 'redis') {
        Object.assign(config, { backend: 'redis', connection: (await startRedis()).url, key_prefix: `cost-${Date.now()}-${Math.random()}:` });
        gateways = [await limited(config, { now: () => T0 }), await limited(config, { now: () => T0 })];
      } else gateways = [await limited(config, { now: () => T0 })];
      // Each request stays in flight long enough for all of them to be admitted or refused first.
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => post(gateways[i % gateways.length], body, { 'x-session-id': 'crowd', 'x-sim-delay-ms': '400' })),
      );
      expect(responses.filter((r) => r.status === 200)).toHaveLength(4);
      expect(responses.filter((r) => r.status === 429)).toHaveLength(16);
      let spent = 0;
      for (const response of responses) if (response.status === 200) spent += await spentBy(response, 'openai', 'gpt-4o');
      // The overshoot is the true cost of the four in flight when the budget was crossed, settled exactly.
      if (backend === 'redis') {
        const redis = new Redis(config.connection as string);
        try {
          const [key] = await redis.keys(`{${config.key_prefix}}rl:*:usd`);
          expect(Number(await redis.get(key))).toBe(spent);
        } finally {
          redis.disconnect();
        }
      }
      expect((await post(gateways[0], body, { 'x-session-id': 'crowd' })).status).toBe(429);
    });
  }
});

describe('cost budgets shared through Redis', () => {
  it('holds one budget across two gateways, to the micro-dollar', async () => {
    const { url } = await startRedis();
    const keyPrefix = `cost-fleet-${Date.now()}-${Math.random()}:`;
    const budget = priceOf('openai', 'gpt-4o', 300, 200);
    const config = { per_session: { max_cost_usd: usdOf(budget) }, backend: 'redis', connection: url, key_prefix: keyPrefix };
    const [a, b] = [await limited(config, { now: () => T0 }), await limited(config, { now: () => T0 })];
    const run = await spendUntilRefused((i) => post(i % 2 ? a : b, chatBody(`question ${i} about the sea`), { 'x-session-id': 'fleet' }), 'openai', 'gpt-4o');
    expectCrossedAt(run, budget);
    expect(a.sim.requests.length + b.sim.requests.length).toBe(run.statuses.length - 1);
    // Both gateways refuse now, and the shared counter holds exactly what the exchanges cost.
    expect((await post(a, chatBody('more'), { 'x-session-id': 'fleet' })).status).toBe(429);
    expect((await post(b, chatBody('more'), { 'x-session-id': 'fleet' })).status).toBe(429);
    const redis = new Redis(url);
    try {
      const [key] = await redis.keys(`{${keyPrefix}}rl:*:usd`);
      expect(Number(await redis.get(key))).toBe(run.spent);
      expect(await redis.pttl(key)).toBeGreaterThan((SESSION_TTL_S - 60) * 1000);
    } finally {
      redis.disconnect();
    }
  });
});
