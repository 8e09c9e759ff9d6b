import { calcPrice } from '@pydantic/genai-prices';
import { LRUCache } from 'lru-cache';
import type { Usage } from '../providers/types.js';
import { costOf, type ModelRates, type Rate } from './model-price.js';

/** `pricing.overrides` entries: USD per million tokens, for private or fine-tuned models. */
export interface PriceOverride {
  input: number;
  output: number;
  cache_read?: number;
  cache_write?: number;
}

/** Models whose rates are remembered (each distinct model name a client sends is one entry). */
const MODELS_REMEMBERED = 1_000;
/** Catalog rates can change on a date (`start_date` constraints): looked up again after this long. */
const RATES_TTL_MS = 60 * 60 * 1000;

/** A catalog lookup that found no price: remembered too, so an unknown model costs one lookup an hour. */
const UNKNOWN = 'unknown' as const;

/**
 * Prices exchanges from the model price catalog that ships in `@pydantic/genai-prices` (no network at run
 * time), or from `pricing.overrides`, which win. The catalog's own calculation costs ~20 µs, so each
 * model's rates are looked up once and remembered; the arithmetic per exchange is a few multiplications.
 * A model nobody prices gets `null` (metrics count those exchanges), never a guessed 0.
 */
export class PriceCatalog {
  private readonly rates = new LRUCache<string, ModelRates | typeof UNKNOWN>({ max: MODELS_REMEMBERED, ttl: RATES_TTL_MS });
  private readonly overrides: Map<string, ModelRates>;

  constructor(overrides: Record<string, PriceOverride> = {}) {
    this.overrides = new Map(
      Object.entries(overrides).map(([model, o]) => [model, { input: o.input, output: o.output, cacheRead: o.cache_read, cacheWrite: o.cache_write }]),
    );
  }

  /** USD for this usage of `model` at `provider` (`openai`, `anthropic`); null when the model has no price. */
  cost(provider: string, model: string | null, usage: Usage | null): number | null {
    if (!usage || !model) return null;
    const rates = this.ratesOf(provider, model);
    return rates === UNKNOWN ? null : costOf(rates, usage);
  }

  private ratesOf(provider: string, model: string): ModelRates | typeof UNKNOWN {
    const override = this.overrides.get(model);
    if (override) return override;
    const key = `${provider}\u0000${model}`;
    let rates = this.rates.get(key);
    if (rates === undefined) {
      rates = catalogRates(provider, model);
      this.rates.set(key, rates);
    }
    return rates;
  }
}

function catalogRates(provider: string, model: string): ModelRates | typeof UNKNOWN {
  let found: ReturnType<typeof calcPrice>;
  try {
    found = calcPrice({ input_tokens: 0, output_tokens: 0 }, model, { providerId: provider });
  } catch {
    found = null; // a model name the catalog's matchers cannot read is simply not priced
  }
  if (!found) return UNKNOWN;
  const price = found.model_price as Record<string, Rate>;
  return { input: price.input_mtok, output: price.output_mtok, cacheRead: price.cache_read_mtok, cacheWrite: price.cache_write_mtok };
}
