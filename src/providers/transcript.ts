import { SEP, TOOL_MARK, type CanonicalMessage } from '../sessions/canonical.js';
import { allAdapters } from './registry.js';
import type { Operation } from './types.js';

/** One message as people read it: tool calls and results spelt out, images named. */
export interface TranscriptMessage {
  role: string;
  text: string;
}

/** Canonical segments back into readable text (canonical.ts writes them). */
export function readable(message: CanonicalMessage): string {
  return message.text
    .split(SEP)
    .map((segment) => {
      if (!segment.startsWith(TOOL_MARK)) return segment;
      const [kind, ...rest] = segment.slice(1).split(':');
      if (kind === 'call') return `[tool call ${rest[1] ?? ''}(${rest.slice(2).join(':')})]`;
      if (kind === 'result') return `[tool result: ${rest.slice(1).join(':')}]`;
      if (kind === 'image') return '[image]';
      return segment.slice(1);
    })
    .join('\n');
}

/** The operation serving a path, in any wire format the gateway speaks. */
export function operationFor(provider: string, path: string): Operation | undefined {
  const bare = path.split('?')[0];
  return allAdapters()
    .find((adapter) => adapter.name === provider)
    ?.operations.find((operation) => operation.path === bare && operation.conversational);
}

/**
 * The conversation of one exchange as a transcript: the request's messages (system prompt aside) and the
 * reply, read through the provider's own operation, so no wire format is special-cased here. A streamed reply
 * is given in its reassembled JSON shape, as trace files keep it. Undefined when the exchange is not a
 * conversation or its bodies are not there (bodies off, truncated).
 */
export function transcriptOf(provider: string, path: string, requestBody: unknown, responseBody: unknown): TranscriptMessage[] | undefined {
  const operation = operationFor(provider, path);
  if (!operation?.parse || !requestBody || typeof requestBody !== 'object') return undefined;
  const conversation = operation.parse(requestBody).conversation();
  const out: TranscriptMessage[] = [];
  for (let i = 0; i < conversation.length; i++) out.push({ role: conversation.role(i), text: readable(conversation.message(i)) });
  if (responseBody && typeof responseBody === 'object' && operation.decoder) {
    const decoder = operation.decoder('application/json');
    decoder.onChunk(Buffer.from(JSON.stringify(responseBody)));
    const reply = decoder.end()?.replies[0];
    if (reply) out.push({ role: 'assistant', text: readable(reply) });
  }
  return out;
}
