import type { ProviderAdapter } from '../types.js';
import { plainJsonRoute } from '../routes.js';
import { messages } from './messages.js';

export const anthropicAdapter: ProviderAdapter = {
  name: 'anthropic',
  operations: [messages, plainJsonRoute('messages.count_tokens', '/v1/messages/count_tokens')],
  authHeaders: (apiKey) => ({ 'x-api-key': apiKey }),
  errorBody: (type, _code, message) => ({ type: 'error', error: { type, message } }),
  /** Anthropic clients authenticate with `x-api-key`, or `Authorization: Bearer` for OAuth tokens. */
  clientCredential(headers) {
    for (const name of ['x-api-key', 'authorization']) {
      const value = headers[name];
      if (typeof value === 'string' && value.trim() !== '') return value;
    }
    return undefined;
  },
};
