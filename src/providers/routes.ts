import { conversationOf, type Conversation } from '../conversation/canonical.js';
import { asObject, asString, metadataSessionId, type Json } from './body.js';
import type { ReplyBudget } from './reply-budget.js';
import { decoderFor, type SseReassembler } from './sse.js';
import type { CapturedReply, Operation } from './types.js';

/** A route whose body must be JSON but that carries no conversation: validated, forwarded, not tracked. */
export function plainJsonRoute(name: string, path: string): Operation {
  return {
    name,
    method: 'POST',
    path,
    jsonBody: true,
    conversational: false,
    parse(body) {
      const request = asObject(body) ?? {};
      return { model: asString(request.model), stream: request.stream === true, conversation: () => conversationOf([]) };
    },
  };
}

export interface ConversationalRouteSpec {
  name: string;
  path: string;
  /** The request's conversation (system prompt left out), built lazily. */
  conversation(request: Json): Conversation;
  /** Reassembles a streamed reply from the route's SSE events, within the reply's budget. */
  sse(budget: ReplyBudget): SseReassembler;
  /** Reads the reply from a JSON response body. */
  json(body: unknown): CapturedReply | null;
}

/** A route that carries a conversation: sessions apply and the reply is captured, streamed or not. */
export function conversationalRoute(spec: ConversationalRouteSpec): Operation {
  return {
    name: spec.name,
    method: 'POST',
    path: spec.path,
    jsonBody: true,
    conversational: true,
    parse(body) {
      const request = asObject(body) ?? {};
      return {
        model: asString(request.model),
        stream: request.stream === true,
        explicitSessionId: metadataSessionId(request),
        previousResponseId: asString(request.previous_response_id),
        conversation: () => spec.conversation(request),
      };
    },
    decoder: (contentType, options) => decoderFor(contentType, spec.sse, spec.json, options),
  };
}
