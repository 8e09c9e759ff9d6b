import type { Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { newRequestId } from '../sessions/ids.js';
import { errorBody, type GatewayError } from './errors.js';

/**
 * Requests Node refuses before any route sees them (malformed HTTP, oversized headers, a request not
 * received within `server.timeouts`): answered in the gateway's standard error shape, then closed.
 */
function clientError(code: string | undefined): GatewayError {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, type: 'invalid_request_error', code: 'request_timeout', message: 'The request was not received in time (server.timeouts)' };
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return { status: 431, type: 'invalid_request_error', code: 'headers_too_large', message: 'The request headers exceed 16 KiB' };
  }
  return { status: 400, type: 'invalid_request_error', code: 'malformed_request', message: 'The request is not valid HTTP/1.1' };
}

export function handleClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const error = clientError(err.code);
    const body = errorBody(error, newRequestId());
    socket.write(
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroySoon();
}

/** Fastify's own routing errors (a path that is not valid percent-encoding), in the standard shape. */
export function handleFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const gatewayError: GatewayError = {
    status: 400,
    type: 'invalid_request_error',
    code: 'invalid_target',
    message: `The request target cannot be read: ${error.message}`,
  };
  void reply.code(400).type('application/json').header('x-request-id', request.id).send(errorBody(gatewayError, request.id));
}

/**
 * `Expect` values other than `100-continue` (which Node answers itself): 417 in the standard shape, as the
 * HTTP specification allows, instead of Node's empty 417.
 */
export function answerUnknownExpectations(server: Server): void {
  server.on('checkExpectation', (request, response) => {
    const error: GatewayError = { status: 417, type: 'invalid_request_error', code: 'expectation_failed', message: 'Only "Expect: 100-continue" is supported' };
    const body = errorBody(error, newRequestId());
    response.writeHead(417, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
    response.end(body);
    request.resume();
  });
}
