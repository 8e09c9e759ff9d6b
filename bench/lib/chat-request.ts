// Benchmark traffic: multi-turn OpenAI chat conversations, the way real clients talk to an LLM API.
// A conversation starts with a system prompt (~1 KB) and one user message; every next request is the
// previous history + the assistant reply actually received in the previous response + a new user
// message. After CONVERSATION_TURNS requests the client starts a new conversation, so the traffic is a
// mix of first requests (1 in 6) and continuations (5 in 6) with histories of up to 12 messages.
//
// Every conversation's user messages carry a process-wide counter, so no two conversations in a run
// (across targets, variants and load runs) share a message or a reply. All of them, not only the first:
// the simulator answers `Reply to: <last user text> (turn N)`, so with fixed follow-ups every
// conversation would get the same replies from turn 2 on, and a few turns in, the same reply after the
// same messages; the gateway cannot tell such conversations apart (it places a continuation by the
// reply it carries and the messages before it), unlike real traffic where replies differ.
//
// The same traffic goes to all three targets: the sequential loop drives a ConversationClient, and each
// autocannon connection runs the same conversations through `conversationRequests()`.

import type autocannon from 'autocannon';

export const CHAT_PATH = '/v1/chat/completions';

/** Sent by every benchmark client to every target, so all three see the same request. */
export const CHAT_HEADERS: Record<string, string> = {
  'content-type': 'application/json',
  authorization: 'Bearer sk-bench',
};

/** Requests per conversation: the first one plus CONVERSATION_TURNS - 1 continuations. */
export const CONVERSATION_TURNS = 6;

const SYSTEM_PROMPT =
  'You are Nimbus, the support assistant of Acme Cloud Storage. Answer questions about accounts, billing, ' +
  'storage plans, file sharing and the desktop sync client. Be concise and friendly, use short paragraphs ' +
  'and bullet lists when listing steps. Never invent features or prices: if you are not sure, say so and ' +
  'offer to open a ticket with a human agent. Do not ask for passwords or full card numbers. When a user ' +
  'reports data loss, first check whether the file is in the trash (kept 30 days) or in version history ' +
  '(kept 90 days on Pro and Business plans). Plans: Free (5 GB, no version history), Pro (2 TB, 90 days ' +
  'of versions, 8 EUR per month) and Business (5 TB per user, 180 days of versions, admin console, 15 EUR ' +
  'per user per month). Shared links can be view-only, comment or edit, with an optional expiry date and ' +
  'password. The desktop client runs on Windows, macOS and Linux and syncs selected folders both ways. ' +
  'Today is a weekday; support agents are available 8am-6pm CET.';

/**
 * The user messages of one conversation, turn by turn; `n` (the conversation's number) makes each of
 * them, and so every reply the simulator gives, unique to the conversation.
 */
function userMessages(n: number): string[] {
  return [
    `Hello, customer #${n} here. I deleted a folder called "Q3 reports" from my laptop yesterday by mistake ` +
      'and the sync client removed it everywhere. I am on the Pro plan. Can I get it back?',
    `Found it and restored it, thanks. But one spreadsheet inside, budget-${n}.xlsx, was overwritten last ` +
      'week with a broken version before I deleted it. Is the older version still there somewhere?',
    `That worked, budget-${n}.xlsx is back. How do I stop the sync client from deleting files everywhere when I delete them locally?`,
    `Great, thanks. Can I share the restored folder with an external accountant (accounts-${n}@example.com) without giving edit rights?`,
    `Perfect. Is there a way to get an email at customer-${n}@example.com when someone deletes a file in a shared folder?`,
    `Thanks a lot. Last question: how do I export the whole "Q3 reports" folder of account ${n} as a zip for an offline backup?`,
  ];
}
if (userMessages(0).length !== CONVERSATION_TURNS) throw new Error('userMessages must give one message per turn');

/** A chat message as sent; assistant replies are passed back as received (extra fields included). */
export interface ChatMessage {
  role: string;
  content: string | null;
  [field: string]: unknown;
}

let conversationsStarted = 0;

/** One conversation's history, grown turn by turn. */
export class ChatConversation {
  /** Process-wide sequence number, also the counter in the first user message. */
  readonly id = ++conversationsStarted;
  /** User messages of all turns, in order. */
  readonly userTexts = userMessages(this.id);
  private readonly messages: ChatMessage[];
  private turn = 1;

  constructor(private readonly stream: boolean) {
    this.messages = [
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: this.userTexts[0] },
    ];
  }

  /** True once the last turn's request has been built: the next request starts a new conversation. */
  get finished(): boolean {
    return this.turn >= CONVERSATION_TURNS;
  }

  /** JSON body of the current turn's request. */
  body(): string {
    return JSON.stringify({
      model: 'gpt-4o',
      messages: this.messages,
      temperature: 0.7,
      // What the official SDKs send for streaming when the caller wants token usage.
      ...(this.stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    });
  }

  /** Moves to the next turn: the reply to the current request, then the next user message. */
  advance(reply: ChatMessage): void {
    if (this.finished) throw new Error('conversation already finished');
    this.messages.push(reply, { role: 'user', content: this.userTexts[this.turn] });
    this.turn++;
  }
}

/**
 * The assistant message of a chat completion response body: `choices[0].message` of a JSON reply, or,
 * for a stream, the message rebuilt from the `chat.completion.chunk` deltas. Null if there is none.
 */
export function assistantReply(body: string, stream: boolean): ChatMessage | null {
  try {
    if (!stream) {
      const message = JSON.parse(body)?.choices?.[0]?.message;
      return message && typeof message === 'object' && typeof message.role === 'string' ? message : null;
    }
    let role: string | undefined;
    let content = '';
    let chunks = 0;
    for (const line of body.split('\n')) {
      if (!line.startsWith('data: {')) continue;
      const chunk = JSON.parse(line.slice(6));
      if (chunk?.object !== 'chat.completion.chunk') continue;
      const delta = chunk.choices?.[0]?.delta;
      if (!delta) continue;
      chunks++;
      if (typeof delta.role === 'string') role ??= delta.role;
      if (typeof delta.content === 'string') content += delta.content;
    }
    return chunks > 0 ? { role: role ?? 'assistant', content } : null;
  } catch {
    return null;
  }
}

/**
 * One client running conversations back to back (the sequential loop): `nextBody()` before each request,
 * `received()` with each response. A response without a usable reply ends its conversation early.
 */
export class ConversationClient {
  private conversation: ChatConversation | null = null;
  private reply: ChatMessage | null = null;
  /** Conversations started by this client. */
  conversations = 0;

  constructor(private readonly stream: boolean) {}

  /** Id of the conversation the last request belonged to (0 before the first request). */
  get conversationId(): number {
    return this.conversation?.id ?? 0;
  }

  nextBody(): string {
    if (this.conversation && this.reply && !this.conversation.finished) {
      this.conversation.advance(this.reply);
    } else {
      this.conversation = new ChatConversation(this.stream);
      this.conversations++;
    }
    this.reply = null;
    return this.conversation.body();
  }

  received(status: number, body: string): void {
    this.reply = status === 200 ? assistantReply(body, this.stream) : null;
  }
}

/** Per-connection autocannon context (reset by autocannon after the last entry: a new conversation). */
interface ConnectionContext {
  conversation?: ChatConversation;
  reply?: ChatMessage | null;
}

/**
 * autocannon `requests` for conversation traffic: one entry per turn. Each connection walks the entries
 * in order with its own context; autocannon resets the context when it wraps around to the first entry,
 * which is where a new conversation starts. A continuation whose previous response gave no reply (error,
 * timeout) returns null, which makes autocannon restart from the first entry: a new conversation.
 */
export function conversationRequests(stream: boolean): autocannon.Request[] {
  const base = { method: 'POST', path: CHAT_PATH, headers: CHAT_HEADERS };
  const onResponse = (status: number, body: string, context: ConnectionContext) => {
    context.reply = status === 200 ? assistantReply(body, stream) : null;
  };
  return Array.from({ length: CONVERSATION_TURNS }, (_, turn) => ({
    ...base,
    setupRequest(req: autocannon.Request, context: ConnectionContext) {
      if (turn === 0) {
        context.conversation = new ChatConversation(stream);
      } else {
        if (!context.conversation || !context.reply) return null;
        context.conversation.advance(context.reply);
      }
      context.reply = null;
      return { ...req, body: context.conversation.body() };
    },
    onResponse,
  }));
}

/**
 * Request body sizes of one conversation, turn by turn, with replies shaped like the simulator's (for the
 * header line and the results file; the real replies differ only in the counter's digits).
 */
export function conversationBodySizes(stream: boolean): number[] {
  const conversation = new ChatConversation(stream);
  const sizes: number[] = [];
  for (let turn = 1; ; turn++) {
    sizes.push(Buffer.byteLength(conversation.body()));
    if (conversation.finished) return sizes;
    const lastUser = conversation.userTexts[turn - 1];
    const content = turn === 1 ? `Reply to: ${lastUser}` : `Reply to: ${lastUser} (turn ${turn})`;
    conversation.advance({ role: 'assistant', content, refusal: null, annotations: [] });
  }
}
