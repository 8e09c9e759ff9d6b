// Provider-shaped error bodies. The official SDKs and the gateway both parse these, so the shapes,
// `type` strings and `code`s copy what the real APIs send for each status.

export type Provider = 'openai' | 'anthropic';

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
}

const OPENAI_ERRORS: Record<number, { type: string; code: string | null; message: string }> = {
  400: { type: 'invalid_request_error', code: null, message: 'Invalid request.' },
  401: {
    type: 'invalid_request_error',
    code: 'invalid_api_key',
    message: 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
  },
  403: { type: 'invalid_request_error', code: 'unsupported_country_region_territory', message: 'Forbidden.' },
  404: { type: 'invalid_request_error', code: 'unknown_url', message: 'Not found.' },
  409: { type: 'invalid_request_error', code: null, message: 'Conflict.' },
  422: { type: 'invalid_request_error', code: null, message: 'Unprocessable entity.' },
  429: {
    type: 'requests',
    code: 'rate_limit_exceeded',
    message: 'Rate limit reached for requests. Please try again in 1s.',
  },
  500: { type: 'server_error', code: null, message: 'The server had an error while processing your request.' },
  502: { type: 'server_error', code: null, message: 'Bad gateway.' },
  503: { type: 'server_error', code: null, message: 'The engine is currently overloaded, please try again later.' },
  504: { type: 'server_error', code: null, message: 'Gateway timeout.' },
};

const ANTHROPIC_ERRORS: Record<number, { type: string; message: string }> = {
  400: { type: 'invalid_request_error', message: 'Invalid request.' },
  401: { type: 'authentication_error', message: 'invalid x-api-key' },
  403: { type: 'permission_error', message: 'Your API key does not have permission to use the specified resource.' },
  404: { type: 'not_found_error', message: 'Not found.' },
  413: { type: 'request_too_large', message: 'Request exceeds the maximum allowed number of bytes.' },
  429: { type: 'rate_limit_error', message: 'Number of requests has exceeded your rate limit.' },
  500: { type: 'api_error', message: 'Internal server error' },
  503: { type: 'api_error', message: 'Service unavailable' },
  529: { type: 'overloaded_error', message: 'Overloaded' },
};

/** OpenAI error body; unknown statuses fall back by class (4xx invalid request, 5xx server error). */
export function openaiError(status: number, message?: string, param: string | null = null): OpenAIErrorBody {
  const known = OPENAI_ERRORS[status];
  const fallback =
    status >= 500
      ? { type: 'server_error', code: null, message: `Simulated upstream error ${status}.` }
      : { type: 'invalid_request_error', code: null, message: `Simulated error ${status}.` };
  const base = known ?? fallback;
  return { error: { message: message ?? base.message, type: base.type, param, code: base.code } };
}

/** Anthropic error body; unknown statuses fall back by class (4xx invalid_request_error, 5xx api_error). */
export function anthropicError(status: number, message?: string): AnthropicErrorBody {
  const known = ANTHROPIC_ERRORS[status];
  const base =
    known ??
    (status >= 500
      ? { type: 'api_error', message: `Simulated upstream error ${status}.` }
      : { type: 'invalid_request_error', message: `Simulated error ${status}.` });
  return { type: 'error', error: { type: base.type, message: message ?? base.message } };
}

export function providerError(provider: Provider, status: number, message?: string): OpenAIErrorBody | AnthropicErrorBody {
  return provider === 'anthropic' ? anthropicError(status, message) : openaiError(status, message);
}
