import { authorizationKey, headerKey } from '../credential-key.js';
import type { ProviderAdapter } from '../types.js';
import { plainJsonRoute } from '../routes.js';
import { messages } from './messages.js';

export const anthropicAdapter: ProviderAdapter = {
  name: 'anthropic',
  operations: [messages, plainJsonRoute('messages.count_tokens', '/v1/messages/count_tokens')],
  authHeaders: (apiKey) => ({ 'x-api-key': apiKey }),
  errorBody: (type, _code, message) => ({ type: 'error', error: { type, message } }),
  /**
   * Anthropic clients authenticate with `x-api-key`, or `Authorization: Bearer` for OAuth tokens: either
   * way the key itself, so one key sent both ways is one credential to limits and sessions.
   */
  clientCredential: (headers) => headerKey(headers['x-api-key']) ?? authorizationKey(headers.authorization),
};
