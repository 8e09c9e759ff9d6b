// One API key spelled many ways must count as one client: the Bearer scheme is case-insensitive and may be
// followed by any whitespace, and an Anthropic key may come in x-api-key or as a Bearer token. Were each
// spelling its own credential, a client would get a fresh per-credential limit (and fresh sessions) per
// spelling. Through HTTP, with a clock that stands still so no bucket refills mid-test.
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack, type StackOptions } from '../../helpers/stack.js';

const stacks: Stack[] = [];
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((stack) => stack.close()));
});

async function gateway(options: StackOptions): Promise<Stack> {
  const stack = await startStack({ now: () => Date.parse('2030-01-01T00:00:00Z'), ...options });
  stacks.push(stack);
  return stack;
}

const LIMIT = 3;
const perCredential = [{ type: 'rate_limit', config: { per_client: { key: 'credential', requests_per_minute: LIMIT } } }];

const OPENAI_SPELLINGS = ['Bearer sk-same', 'bearer sk-same', 'BEARER sk-same', 'Bearer  sk-same', 'Bearer\tsk-same', 'bEaReR \t sk-same', 'sk-same'];
const ANTHROPIC_SPELLINGS: Record<string, string>[] = [
  { 'x-api-key': 'sk-same' },
  { authorization: 'Bearer sk-same' },
  { authorization: 'bearer\tsk-same' },
  { 'x-api-key': ' sk-same\t' },
  { authorization: 'BEARER   sk-same' },
];

function chat(stack: Stack, headers: Record<string, string>, messages: { role: string; content: string }[], reply = 'ok'): Promise<Response> {
  const anthropic = stack.config.llm.type === 'anthropic';
  const body = anthropic ? { model: 'claude-haiku-4-5', max_tokens: 50, messages } : { model: 'gpt-4o', messages };
  return fetch(`${stack.url}${anthropic ? '/v1/messages' : '/v1/chat/completions'}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-sim-reply': encodeURIComponent(reply),
      ...(anthropic ? { 'anthropic-version': '2023-06-01' } : {}),
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

describe('a per-credential rate limit, one key in many spellings', () => {
  it(`OpenAI: admits ${LIMIT} requests in all, then 429 for every other spelling`, async () => {
    const stack = await gateway({ interceptors: perCredential });
    const statuses: number[] = [];
    for (const [i, authorization] of OPENAI_SPELLINGS.entries())
      statuses.push((await chat(stack, { authorization }, [{ role: 'user', content: `q${i}` }])).status);
    expect(statuses).toEqual(OPENAI_SPELLINGS.map((_, i) => (i < LIMIT ? 200 : 429)));
    expect(stack.sim.requests).toHaveLength(LIMIT);
  });

  it(`Anthropic: x-api-key and Bearer are one key; ${LIMIT} requests in all`, async () => {
    const stack = await gateway({ type: 'anthropic', interceptors: perCredential });
    const statuses: number[] = [];
    for (const [i, headers] of ANTHROPIC_SPELLINGS.entries()) statuses.push((await chat(stack, headers, [{ role: 'user', content: `q${i}` }])).status);
    expect(statuses).toEqual(ANTHROPIC_SPELLINGS.map((_, i) => (i < LIMIT ? 200 : 429)));
  });

  it('still tells two different keys apart', async () => {
    const stack = await gateway({ interceptors: perCredential });
    for (let i = 0; i < LIMIT; i++) expect((await chat(stack, { authorization: 'Bearer sk-one' }, [{ role: 'user', content: `a${i}` }])).status).toBe(200);
    expect((await chat(stack, { authorization: 'Bearer sk-one' }, [{ role: 'user', content: 'a' }])).status).toBe(429);
    expect((await chat(stack, { authorization: 'Bearer sk-two' }, [{ role: 'user', content: 'b' }])).status).toBe(200);
    expect((await chat(stack, { authorization: 'Bearer SK-ONE' }, [{ role: 'user', content: 'c' }])).status).toBe(200); // keys are case-sensitive
  });
});

describe('sessions partitioned by credential', () => {
  it('keep one session while the client changes how it spells its key', async () => {
    const stack = await gateway({});
    const history: { role: string; content: string }[] = [];
    const ids: (string | null)[] = [];
    for (const [turn, authorization] of OPENAI_SPELLINGS.entries()) {
      history.push({ role: 'user', content: `turn ${turn} of one conversation` });
      const response = await chat(stack, { authorization }, history, `answer ${turn}`);
      expect(response.status).toBe(200);
      ids.push(response.headers.get('x-session-id'));
      history.push({ role: 'assistant', content: `answer ${turn}` });
    }
    expect(new Set(ids).size).toBe(1);
  });
});
