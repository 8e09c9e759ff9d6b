/**
 * The gateway's standard error shape, used for every error the gateway itself produces (provider errors are
 * passed through as the provider sent them). Messages never include request headers, so never a secret.
 */
export type ErrorType = 'invalid_request_error' | 'authentication_error' | 'rate_limit_error' | 'server_error' | 'provider_error';

export interface GatewayError {
  status: number;
  type: ErrorType;
  code: string;
  message: string;
  details?: Record<string, unknown> | null;
}

export function errorBody(error: GatewayError, requestId: string): string {
  return JSON.stringify({
    error: { message: error.message, type: error.type, code: error.code, details: error.details ?? null },
    timestamp: new Date().toISOString(),
    request_id: requestId,
  });
}

export const errors = {
  malformedJson: (detail: string): GatewayError => ({
    status: 400,
    type: 'invalid_request_error',
    code: 'invalid_json',
    message: 'Request body is not valid JSON',
    details: { reason: detail },
  }),
  notAnObject: (): GatewayError => ({
    status: 400,
    type: 'invalid_request_error',
    code: 'invalid_body',
    message: 'Request body must be a JSON object',
  }),
  tooLarge: (limit: number): GatewayError => ({
    status: 413,
    type: 'invalid_request_error',
    code: 'payload_too_large',
    message: `Request body exceeds the limit of ${limit} bytes`,
    details: { max_body_size: limit },
  }),
  badGateway: (reason: string, attempts: number): GatewayError => ({
    status: 502,
    type: 'provider_error',
    code: 'bad_gateway',
    message: 'The provider could not be reached',
    details: { reason, attempts },
  }),
  gatewayTimeout: (timeoutSeconds: number): GatewayError => ({
    status: 504,
    type: 'provider_error',
    code: 'gateway_timeout',
    message: `The provider did not answer within ${timeoutSeconds} s`,
    details: { timeout_seconds: timeoutSeconds },
  }),
  unauthorized: (): GatewayError => ({
    status: 401,
    type: 'authentication_error',
    code: 'admin_token_required',
    message: 'This endpoint requires the admin token: Authorization: Bearer <server.admin_token>',
  }),
  notFound: (what: string): GatewayError => ({
    status: 404,
    type: 'invalid_request_error',
    code: 'not_found',
    message: `${what} not found`,
  }),
  badQuery: (message: string): GatewayError => ({
    status: 400,
    type: 'invalid_request_error',
    code: 'invalid_query',
    message,
  }),
  /** A stage of the request path failed (a bug, a throwing hook, a missed deadline): the request is answered anyway. */
  gatewayError: (stage: string): GatewayError => ({
    status: 500,
    type: 'server_error',
    code: 'gateway_error',
    message: 'The gateway failed to handle the request',
    details: { stage },
  }),
  internal: (): GatewayError => ({
    status: 500,
    type: 'server_error',
    code: 'internal_error',
    message: 'The gateway failed to handle the request',
  }),
};
