// What the rate-limit tests share: a gateway with one rate_limit interceptor in front of the simulator,
// requests in either provider's shape, the interceptor's /metrics figures, and the usage a reply reported.
import { afterEach } from 'vitest';
import { startStack, type Stack, type StackOptions } from '../../helpers/stack.js';

/** Starts gateways with a rate_limit config; every one started in a test is closed after it. */
export function limitedStacks(): (config: Record<string, unknown>, options?: StackOptions) => Promise<Stack> {
  const stacks: Stack[] = [];
  afterEach(async () => {
    await Promise.all(stacks.splice(0).map((stack) => stack.close()));
  });
  return async (config, options = {}) => {
    const stack = await startStack({ ...options, interceptors: [{ type: 'rate_limit', config }] });
    stacks.push(stack);
    return stack;
  };
}

export const chatBody = (text: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: text }], ...extra });
export const anthropicBody = (text: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: text }], ...extra });

export function post(
  stack: Stack,
  body: string,
  headers: Record<string, string> = {},
  path = stack.config.llm.type === 'anthropic' ? '/v1/messages' : '/v1/chat/completions',
  signal?: AbortSignal,
): Promise<Response> {
  const auth: Record<string, string> =
    stack.config.llm.type === 'anthropic' ? { 'x-api-key': 'sk-client', 'anthropic-version': '2023-06-01' } : { authorization: 'Bearer sk-client' };
  return fetch(`${stack.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth, ...headers }, body, signal });
}

export async function figures(stack: Stack): Promise<Record<string, number>> {
  const metrics = (await (await fetch(`${stack.url}/metrics`)).json()) as { interceptors: { rate_limit: Record<string, number> } };
  return metrics.interceptors.rate_limit;
}

/** Usage a provider reported, from a JSON body or an SSE stream (both formats); zeros when none. */
export function reportedUsage(text: string): { input_tokens: number; output_tokens: number; total_tokens: number } {
  let input = 0;
  let output = 0;
  const bodies = text.startsWith('{')
    ? [text]
    : text
        .split('\n')
        .filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]')
        .map((line) => line.slice(6));
  for (const body of bodies) {
    const parsed = JSON.parse(body) as { usage?: Record<string, number> | null; message?: { usage?: Record<string, number> } };
    const usage = parsed.usage ?? parsed.message?.usage;
    if (!usage) continue;
    input = Math.max(input, usage.prompt_tokens ?? usage.input_tokens ?? 0);
    output = Math.max(output, usage.completion_tokens ?? usage.output_tokens ?? 0);
  }
  return { input_tokens: input, output_tokens: output, total_tokens: input + output };
}

/** Usage a provider reported, as the sum of input and output tokens. */
export function reportedTokens(text: string): number {
  return reportedUsage(text).total_tokens;
}
