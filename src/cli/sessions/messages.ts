// The new user message and the reply of one traced exchange, as text. The bodies are read through the
// provider's own operation (src/providers/transcript.ts), the code the gateway itself links sessions
// with, so no wire format is special-cased here; what a trace cannot give is said in brackets.
import { replyTranscript, requestTranscript } from '../../providers/transcript.js';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export interface ExchangeTexts {
  user: string;
  reply: string;
}

/** `{error: {message}}`: the shape both OpenAI and Anthropic give their errors (and the gateway its own). */
function errorText(body: unknown): string | undefined {
  if (!isObject(body) || !isObject(body.error)) return undefined;
  const { message, type } = body.error;
  return `[error] ${typeof message === 'string' ? message : typeof type === 'string' ? type : ''}`.trim();
}

/**
 * The user message and the reply of a whole trace record, with what the trace could not give said in
 * brackets: a body cut at `max_body_size` (its JSON is incomplete), bodies not traced (`include_body:
 * false`), a failed exchange (no response body), a provider error.
 */
export function exchangeTexts(trace: Json): ExchangeTexts {
  const request = isObject(trace.request) ? trace.request : {};
  const response = isObject(trace.response) ? trace.response : {};
  const provider = typeof trace.provider === 'string' ? trace.provider : '';
  const path = typeof request.path === 'string' ? request.path : '';
  let user: string;
  if (!('body' in request)) user = '[body not traced]';
  else if (request.body_truncated === true) user = `[request body truncated${typeof request.body_bytes === 'number' ? ` (${request.body_bytes} bytes)` : ''}]`;
  else user = lastUser(requestTranscript(provider, path, request.body)) ?? '-';
  let reply: string;
  if (typeof trace.failure === 'string' && (response.body === null || response.body === undefined)) reply = `[failed: ${trace.failure}]`;
  else if (!('body' in response)) reply = '[body not traced]';
  else if (response.body_truncated === true) reply = '[response body truncated]';
  else reply = errorText(response.body) ?? replyTranscript(provider, path, response.body)?.text ?? '-';
  return { user, reply };
}

function lastUser(messages: { role: string; text: string }[] | undefined): string | undefined {
  if (!messages) return undefined;
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === 'user') return messages[i].text;
  return undefined;
}
