import { anthropicAdapter } from './anthropic/index.js';
import { openAiAdapter } from './openai/index.js';
import type { ProviderAdapter } from './types.js';

/** Every wire format the gateway speaks, by the name used in `llm.type`. */
const adapters: Record<string, ProviderAdapter> = {
  [openAiAdapter.name]: openAiAdapter,
  [anthropicAdapter.name]: anthropicAdapter,
};

export function adapterFor(type: string): ProviderAdapter {
  const adapter = adapters[type];
  if (!adapter) throw new Error(`unknown provider type "${type}" (known: ${Object.keys(adapters).join(', ')})`);
  return adapter;
}

/** Every adapter, for what must know them all (the metrics catalog's label sets). */
export function allAdapters(): ProviderAdapter[] {
  return Object.values(adapters);
}
