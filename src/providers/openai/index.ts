import { authorizationKey } from '../credential-key.js';
import type { ProviderAdapter } from '../types.js';
import { plainJsonRoute } from '../routes.js';
import { chatCompletions } from './chat.js';
import { responses } from './responses.js';

export const openAiAdapter: ProviderAdapter = {
  name: 'openai',
  operations: [
    chatCompletions,
    responses,
    plainJsonRoute('completions', '/v1/completions'),
    plainJsonRoute('embeddings', '/v1/embeddings'),
    { name: 'models', method: 'GET', path: '/v1/models', jsonBody: false, conversational: false },
  ],
  authHeaders: (apiKey) => ({ authorization: `Bearer ${apiKey}` }),
  errorBody: (type, code, message) => ({ error: { message, type, param: null, code } }),
  /** The key itself, however the client spelled `Authorization` (limits and sessions are keyed by it). */
  clientCredential: (headers) => authorizationKey(headers.authorization),
};
