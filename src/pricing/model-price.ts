import type { Usage } from '../providers/types.js';

/** A price per million tokens, flat or by tier (a higher rate once the request's input passes `start`). */
export type Rate = number | { base: number; tiers?: { start: number; price: number }[] } | undefined;

/** What a model costs, per million tokens of each kind (the catalog's `*_mtok` keys, or an override). */
export interface ModelRates {
  input: Rate;
  output: Rate;
  cacheRead: Rate;
  cacheWrite: Rate;
}

/** The rate that applies to a request of `inputTokens` (long-context tiers are chosen by the whole input). */
function rateFor(rate: Rate, inputTokens: number): number | undefined {
  if (rate === undefined || typeof rate === 'number') return rate;
  let price = rate.base;
  for (const tier of rate.tiers ?? []) if (inputTokens > tier.start) price = tier.price;
  return price;
}

/**
 * The cost of one exchange in USD. Cached tokens are a part of the input: they are priced at their own rate
 * (or the input rate when the model has none) and the rest of the input at the input rate.
 */
export function costOf(rates: ModelRates, usage: Usage): number {
  const input = usage.input_tokens;
  const read = usage.cache_read_input_tokens ?? 0;
  const write = usage.cache_write_input_tokens ?? 0;
  const inputRate = rateFor(rates.input, input) ?? 0;
  const uncached = Math.max(0, input - read - write);
  const micro =
    uncached * inputRate +
    read * (rateFor(rates.cacheRead, input) ?? inputRate) +
    write * (rateFor(rates.cacheWrite, input) ?? inputRate) +
    usage.output_tokens * (rateFor(rates.output, input) ?? 0);
  return micro / 1_000_000;
}

/** USD to the millionth of a cent, for display: sums of float costs carry noise beyond that. */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e8) / 1e8;
}
