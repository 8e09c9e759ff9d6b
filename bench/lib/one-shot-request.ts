// Benchmark traffic: one-shot chat requests, the batch-job pattern. Every request is the first and only
// request of its conversation, so the gateway opens a new session for each one. No two requests in a run
// share their first user message (a random run id plus a process-wide counter), so none can be linked to
// another.
//
// Two shapes:
// - short: a single user message (~150 bytes of body);
// - agent: an agent's context of 100 messages of ~1 KB each (~100 KB of body): a system prompt, then
//   alternating user/assistant messages ending with a user message. The first user message carries a
//   random id and the counter, the last one the counter again; the system prompt and the 97 messages in
//   between are the same for every request, so building a body is two small JSON.stringify calls around a
//   prebuilt middle (the load generator shares the machine's cores with what it measures).

import { randomBytes } from 'node:crypto';
import type autocannon from 'autocannon';
import { CHAT_HEADERS, CHAT_PATH } from './chat-request.js';

export type OneShotShape = 'short' | 'agent';

/** Messages of an agent request: the system prompt, then user/assistant turns, the last one a user message. */
export const AGENT_MESSAGES = 100;
const MESSAGE_BYTES = 1024;

let requestsBuilt = 0;
const RUN_ID = randomBytes(6).toString('hex');

/** Role of message `i` of an agent request: 0 is the system prompt, odd indices are user messages. */
const roleOf = (i: number): string => (i === 0 ? 'system' : i % 2 === 1 ? 'user' : 'assistant');

/** ~MESSAGE_BYTES of plausible text for message `i` (a coding agent's back and forth). */
function filler(i: number): string {
  const sentence =
    i === 0
      ? 'You are a coding agent working in a large repository. Use the tools to read files, run tests and edit code. '
      : roleOf(i) === 'user'
        ? `Step ${i}: the build log of module-${i} shows a failing test in the payment reconciliation suite; here is the relevant output. `
        : `Step ${i}: the failure comes from a rounding difference in the currency conversion helper; I will patch the helper and rerun. `;
  let text = '';
  while (text.length + sentence.length <= MESSAGE_BYTES) text += sentence;
  return text;
}

/** The system prompt of an agent request, as a JSON array item. */
const AGENT_SYSTEM = JSON.stringify({ role: 'system', content: filler(0) });
/** The 97 messages between the first and the last user message (indices 2 to 98), as JSON array items. */
const AGENT_MIDDLE = Array.from({ length: AGENT_MESSAGES - 3 }, (_, k) => JSON.stringify({ role: roleOf(k + 2), content: filler(k + 2) })).join(',');
if (AGENT_MESSAGES % 2 !== 0) throw new Error('AGENT_MESSAGES must be even: the system prompt, then turns ending with a user message');

/** JSON body of the next one-shot request. */
export function oneShotBody(shape: OneShotShape, stream: boolean): string {
  const n = ++requestsBuilt;
  const tail = stream ? ',"stream":true,"stream_options":{"include_usage":true}' : '';
  if (shape === 'short') {
    const user = JSON.stringify({ role: 'user', content: `Job ${RUN_ID}-${n}: summarise the attached ticket in one sentence.` });
    return `{"model":"gpt-4o","messages":[${user}],"temperature":0.7${tail}}`;
  }
  const first = JSON.stringify({ role: 'user', content: `Task ${RUN_ID}-${randomBytes(6).toString('hex')}-${n}. ${filler(1)}` });
  const last = JSON.stringify({ role: 'user', content: `Request ${n}: ${filler(AGENT_MESSAGES - 1)}` });
  return `{"model":"gpt-4o","messages":[${AGENT_SYSTEM},${first},${AGENT_MIDDLE},${last}],"temperature":0.7${tail}}`;
}

/** Body size in bytes of one request of `shape` (for the header line and the results file). */
export function oneShotBodySize(shape: OneShotShape, stream: boolean): number {
  return Buffer.byteLength(oneShotBody(shape, stream));
}

/** autocannon `requests` for one-shot traffic: a single entry whose body is rebuilt for every request. */
export function oneShotRequests(shape: OneShotShape, stream: boolean): autocannon.Request[] {
  return [
    {
      method: 'POST',
      path: CHAT_PATH,
      headers: CHAT_HEADERS,
      setupRequest: (req: autocannon.Request) => ({ ...req, body: oneShotBody(shape, stream) }),
    },
  ];
}
