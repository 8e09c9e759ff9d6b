import type { CanonicalMessage } from '../conversation/canonical.js';
import { jsonText } from '../conversation/json-text.js';
import { segmentsOf, type Segment } from '../conversation/segments.js';
import { allAdapters } from './registry.js';
import type { Operation } from './types.js';

/** One message as people read it: tool calls and results spelt out, images named. */
export interface TranscriptMessage {
  role: string;
  text: string;
}

/** One segment as people read it. */
function readableSegment(segment: Segment): string {
  switch (segment.kind) {
    case 'text':
      return segment.text;
    case 'call':
      return `[tool call: ${segment.name}(${segment.args})]`;
    case 'result':
      return `[tool result] ${segment.content}`;
    case 'image':
      return '[image]';
    case 'other':
      return segment.text;
  }
}

/** A canonical message back into readable text. */
function readable(message: CanonicalMessage): string {
  return segmentsOf(message).map(readableSegment).join('\n');
}

/** The operation serving a path, in any wire format the gateway speaks. */
function operationFor(provider: string, path: string): Operation | undefined {
  const bare = path.split('?')[0];
  return allAdapters()
    .find((adapter) => adapter.name === provider)
    ?.operations.find((operation) => operation.path === bare && operation.conversational);
}

/** A request's messages (system prompt aside), read through the operation serving its path. */
export function requestTranscript(provider: string, path: string, body: unknown): TranscriptMessage[] | undefined {
  const operation = operationFor(provider, path);
  if (!operation?.parse || !body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const conversation = operation.parse(body).conversation();
  const out: TranscriptMessage[] = [];
  for (let i = 0; i < conversation.length; i++) out.push({ role: conversation.role(i), text: readable(conversation.message(i)) });
  return out;
}

/**
 * The reply of a response body (a streamed one in its reassembled JSON shape, as trace files keep it), read
 * by the operation's own decoder.
 */
export function replyTranscript(provider: string, path: string, body: unknown): TranscriptMessage | undefined {
  const operation = operationFor(provider, path);
  if (!operation?.decoder || !body || typeof body !== 'object') return undefined;
  const decoder = operation.decoder('application/json');
  decoder.onChunk(Buffer.from(jsonText(body)));
  const reply = decoder.end()?.replies[0];
  return reply && { role: 'assistant', text: readable(reply) };
}

/**
 * The conversation of one exchange as a transcript: the request's messages and the reply, read through the
 * provider's own operation, so no wire format is special-cased here. Undefined when the exchange is not a
 * conversation or its bodies are not there (bodies off, truncated).
 */
export function transcriptOf(provider: string, path: string, requestBody: unknown, responseBody: unknown): TranscriptMessage[] | undefined {
  const messages = requestTranscript(provider, path, requestBody);
  if (!messages) return undefined;
  const reply = replyTranscript(provider, path, responseBody);
  return reply ? [...messages, reply] : messages;
}
