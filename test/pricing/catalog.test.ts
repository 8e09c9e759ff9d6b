// Prices come from the catalog in @pydantic/genai-prices: the gateway's own arithmetic over the rates it
// remembers must give what the catalog's calculation gives, cached and long-context tokens included.
import { calcPrice } from '@pydantic/genai-prices';
import { describe, expect, it } from 'vitest';
import { PriceCatalog } from '../../src/pricing/catalog.js';

const catalog = new PriceCatalog();

describe('PriceCatalog', () => {
  const cases = [
    { provider: 'openai', model: 'gpt-4o-mini', usage: { input_tokens: 1200, output_tokens: 300, total_tokens: 1500 } },
    { provider: 'openai', model: 'gpt-4o-2024-08-06', usage: { input_tokens: 5000, output_tokens: 50, total_tokens: 5050, cache_read_input_tokens: 4096 } },
    {
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
      usage: { input_tokens: 9000, output_tokens: 700, total_tokens: 9700, cache_read_input_tokens: 6000, cache_write_input_tokens: 2000 },
    },
    // Past 200k input tokens the long-context tier applies to every kind of token.
    {
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      usage: { input_tokens: 250_000, output_tokens: 1000, total_tokens: 251_000, cache_read_input_tokens: 100_000 },
    },
  ];
  for (const { provider, model, usage } of cases) {
    it(`prices ${provider} ${model} as the catalog does`, () => {
      const expected = calcPrice(
        {
          input_tokens: usage.input_tokens,
          output_tokens: usage.output_tokens,
          cache_read_tokens: usage.cache_read_input_tokens ?? 0,
          cache_write_tokens: usage.cache_write_input_tokens ?? 0,
        },
        model,
        { providerId: provider },
      );
      expect(expected).not.toBeNull();
      expect(catalog.cost(provider, model, usage)).toBeCloseTo(expected!.total_price, 10);
    });
  }

  it('gives null, never 0, for a model nobody prices, and for an exchange without usage', () => {
    expect(catalog.cost('openai', 'ft:my-private-model', { input_tokens: 10, output_tokens: 10, total_tokens: 20 })).toBeNull();
    expect(catalog.cost('openai', 'gpt-4o-mini', null)).toBeNull();
    expect(catalog.cost('openai', null, { input_tokens: 10, output_tokens: 10, total_tokens: 20 })).toBeNull();
  });

  it('lets pricing.overrides price private models and win over the catalog', () => {
    const priced = new PriceCatalog({ 'ft:my-private-model': { input: 2, output: 8, cache_read: 0.5 }, 'gpt-4o-mini': { input: 1, output: 1 } });
    expect(
      priced.cost('openai', 'ft:my-private-model', {
        input_tokens: 1_000_000,
        output_tokens: 500_000,
        total_tokens: 1_500_000,
        cache_read_input_tokens: 400_000,
      }),
    ).toBeCloseTo(0.6 * 2 + 0.4 * 0.5 + 0.5 * 8, 10);
    expect(priced.cost('openai', 'gpt-4o-mini', { input_tokens: 1_000_000, output_tokens: 1_000_000, total_tokens: 2_000_000 })).toBeCloseTo(2, 10);
  });
});
