// End-to-end helpers: the official SDKs pointed at a gateway, and scripted conversations that keep their own
// history (echoing replies in a chosen shape), send it, and record the X-Session-ID the gateway answered.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { beforeEach } from 'vitest';
import { startStack, type Stack, type StackOptions } from '../helpers/stack.js';

export type Format = 'openai' | 'anthropic';
/** How a client echoes a reply: as the SDK returned it, as plain text content, or as a list of text parts. */
export type Echo = 'returned' | 'plain' | 'parts';
/** A provider-native message (OpenAI chat message or Anthropic MessageParam). */
export type Msg = Record<string, unknown>;

/** The 2×2 matrix every format-independent scenario runs in. */
export const MATRIX = (['openai', 'anthropic'] as const).flatMap((format) =>
  [false, true].map((stream) => ({ format, stream, label: `${format} ${stream ? 'streamed' : 'JSON'}` })),
);

const stacks: Stack[] = [];

/** Closes every stack opened by `openStack` since the last call; each test file runs it in `afterEach`. */
export async function closeStacks(): Promise<void> {
  await Promise.all(stacks.splice(0).map((stack) => stack.close()));
}

/** Starts a simulator + gateway on ephemeral ports, remembered for `closeStacks`. */
export async function openStack(options: StackOptions = {}): Promise<Stack> {
  const stack = await startStack(options);
  stacks.push(stack);
  return stack;
}

/**
 * One cell of MATRIX: a fresh stack of this format, and an SDK client on it, before each test of the
 * enclosing describe (closed by `closeStacks`). Read them as `env.stack` / `env.client` inside tests.
 */
export function stackPerTest(format: Format): { readonly stack: Stack; readonly client: GatewayClient } {
  const env = {} as { stack: Stack; client: GatewayClient };
  beforeEach(async () => {
    env.stack = await openStack({ type: format });
    env.client = new GatewayClient(env.stack);
  });
  return env;
}

export async function metrics(stack: Stack): Promise<any> {
  const response = await fetch(`${stack.url}/metrics`);
  return ((await response.json()) as { sessions: unknown }).sessions;
}

export function decisionLogs(stack: Stack): Record<string, unknown>[] {
  return stack.logs.filter((line) => line.msg === 'session decision');
}

export interface ToolCall {
  id: string;
  name: string;
  /** Arguments as JSON text. */
  args: string;
}

export interface Reply {
  text: string;
  toolCalls: ToolCall[];
  /** The assistant message as the SDK returned it (streamed: rebuilt from the deltas in the same shape). */
  returned: Msg;
}

export interface Sent {
  sessionId: string | null;
  requestId: string;
  /** From the gateway's 'session decision' log line for this request (undefined when sessions are off). */
  rule?: string;
  isNew?: boolean;
  reply: Reply;
}

export interface SendOptions {
  stream: boolean;
  system?: string;
  tools?: boolean;
  /** Forces the provider's reply text (x-sim-reply). */
  reply?: string;
  headers?: Record<string, string>;
  metadata?: Record<string, string>;
}

const openAiTool: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};
const anthropicTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

/** One SDK client (its own API key) talking to the gateway of `stack` in the stack's wire format. */
export class GatewayClient {
  readonly format: Format;
  private readonly openai: OpenAI;
  private readonly anthropic: Anthropic;

  constructor(
    readonly stack: Stack,
    apiKey = 'sk-e2e-client-key',
  ) {
    this.format = stack.config.llm.type as Format;
    this.openai = new OpenAI({ apiKey, baseURL: `${stack.url}/v1`, maxRetries: 0 });
    this.anthropic = new Anthropic({ apiKey, baseURL: stack.url, maxRetries: 0 });
  }

  get responses(): OpenAI['responses'] {
    return this.openai.responses;
  }

  async send(messages: Msg[], options: SendOptions): Promise<Sent> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.reply !== undefined) headers['x-sim-reply'] = encodeURIComponent(options.reply);
    const { reply, response } =
      this.format === 'openai' ? await this.sendOpenAi(messages, options, headers) : await this.sendAnthropic(messages, options, headers);
    const requestId = response.headers.get('x-request-id') ?? '';
    const decision = decisionLogs(this.stack).find((line) => line.request_id === requestId);
    return {
      sessionId: response.headers.get('x-session-id'),
      requestId,
      rule: decision?.rule as string | undefined,
      isNew: decision?.is_new as boolean | undefined,
      reply,
    };
  }

  private async sendOpenAi(messages: Msg[], options: SendOptions, headers: Record<string, string>) {
    const body = {
      model: 'gpt-4o',
      messages: [
        ...(options.system !== undefined ? [{ role: 'system', content: options.system }] : []),
        ...messages,
      ] as unknown as OpenAI.ChatCompletionMessageParam[],
      ...(options.tools ? { tools: [openAiTool] } : {}),
      ...(options.metadata ? { metadata: options.metadata } : {}),
    };
    if (!options.stream) {
      const { data, response } = await this.openai.chat.completions.create(body, { headers }).withResponse();
      const message = data.choices[0].message;
      const toolCalls = (message.tool_calls ?? []).flatMap((call) =>
        call.type === 'function' ? [{ id: call.id, name: call.function.name, args: call.function.arguments }] : [],
      );
      return { response, reply: { text: message.content ?? '', toolCalls, returned: message as unknown as Msg } };
    }
    const { data: stream, response } = await this.openai.chat.completions.create({ ...body, stream: true }, { headers }).withResponse();
    let text = '';
    const calls: ToolCall[] = [];
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta;
      if (!delta) continue;
      text += delta.content ?? '';
      for (const piece of delta.tool_calls ?? []) {
        const slot = (calls[piece.index] ??= { id: '', name: '', args: '' });
        if (piece.id) slot.id = piece.id;
        slot.name += piece.function?.name ?? '';
        slot.args += piece.function?.arguments ?? '';
      }
    }
    const returned: Msg = { role: 'assistant', content: text === '' && calls.length > 0 ? null : text, refusal: null, annotations: [] };
    if (calls.length > 0) returned.tool_calls = calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.args } }));
    return { response, reply: { text, toolCalls: calls, returned } };
  }

  private async sendAnthropic(messages: Msg[], options: SendOptions, headers: Record<string, string>) {
    const body = {
      model: 'claude-haiku-4-5',
      max_tokens: 256,
      messages: messages as unknown as Anthropic.MessageParam[],
      ...(options.system !== undefined ? { system: options.system } : {}),
      ...(options.tools ? { tools: [anthropicTool] } : {}),
      ...(options.metadata ? { metadata: options.metadata as Anthropic.Metadata } : {}),
    };
    let blocks: Msg[];
    let response: Response;
    if (!options.stream) {
      const result = await this.anthropic.messages.create(body, { headers }).withResponse();
      blocks = result.data.content as unknown as Msg[];
      response = result.response;
    } else {
      const result = await this.anthropic.messages.create({ ...body, stream: true }, { headers }).withResponse();
      response = result.response;
      blocks = [];
      const partial: string[] = [];
      for await (const event of result.data) {
        if (event.type === 'content_block_start') {
          blocks[event.index] = { ...event.content_block };
          partial[event.index] = '';
        } else if (event.type === 'content_block_delta') {
          const block = blocks[event.index];
          if (event.delta.type === 'text_delta') block.text = `${block.text as string}${event.delta.text}`;
          else if (event.delta.type === 'input_json_delta') partial[event.index] += event.delta.partial_json;
        } else if (event.type === 'content_block_stop' && blocks[event.index].type === 'tool_use' && partial[event.index]) {
          blocks[event.index].input = JSON.parse(partial[event.index]);
        }
      }
    }
    const text = blocks
      .filter((b) => b.type === 'text')
      .map((b) => b.text as string)
      .join('');
    const toolCalls = blocks.filter((b) => b.type === 'tool_use').map((b) => ({ id: b.id as string, name: b.name as string, args: JSON.stringify(b.input) }));
    return { response, reply: { text, toolCalls, returned: { role: 'assistant', content: blocks } } };
  }
}

/** A user turn: plain string content reads the same in both wire formats. */
export function userMessage(text: string): Msg {
  return { role: 'user', content: text };
}

/** The assistant message a client puts back into its history, in the chosen shape (text optionally altered). */
export function echoOf(format: Format, reply: Reply, echo: Echo, alter: (text: string) => string = (t) => t): Msg {
  const text = alter(reply.text);
  if (echo === 'returned' && text === reply.text) return reply.returned;
  if (format === 'openai') {
    const message: Msg = { role: 'assistant', content: text === '' ? null : echo === 'parts' ? [{ type: 'text', text }] : text };
    if (reply.toolCalls.length > 0)
      message.tool_calls = reply.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.args } }));
    return message;
  }
  const toolBlocks = reply.toolCalls.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: JSON.parse(c.args) }));
  if (echo === 'plain' && toolBlocks.length === 0) return { role: 'assistant', content: text };
  return { role: 'assistant', content: [...(text ? [{ type: 'text', text }] : []), ...toolBlocks] };
}

/** The messages that hand tool results back for every call of `reply`. */
export function toolResults(format: Format, reply: Reply, result: string): Msg[] {
  if (format === 'openai') return reply.toolCalls.map((c) => ({ role: 'tool', tool_call_id: c.id, content: result }));
  return [{ role: 'user', content: reply.toolCalls.map((c) => ({ type: 'tool_result', tool_use_id: c.id, content: result })) }];
}

export interface ConversationOptions {
  stream: boolean;
  echo?: Echo;
  /** System prompt, recomputed for every request. */
  system?: () => string;
  tools?: boolean;
  /** How the app alters replies before echoing them (fuzzy scenarios). */
  alter?: (text: string) => string;
}

export type TurnOptions = Pick<SendOptions, 'reply' | 'headers' | 'metadata'>;

/** A scripted client conversation: keeps its history, sends it whole, and echoes each reply back. */
export class Conversation {
  readonly history: Msg[] = [];
  readonly turns: Sent[] = [];

  constructor(
    public client: GatewayClient,
    readonly options: ConversationOptions,
  ) {}

  /** Sends the next turns through another gateway (replicas behind a load balancer). */
  via(client: GatewayClient): this {
    this.client = client;
    return this;
  }

  get format(): Format {
    return this.client.format;
  }

  get sessionIds(): (string | null)[] {
    return this.turns.map((turn) => turn.sessionId);
  }

  get rules(): (string | undefined)[] {
    return this.turns.map((turn) => turn.rule);
  }

  get lastReply(): Reply {
    return this.turns[this.turns.length - 1].reply;
  }

  /** Appends a user turn, sends the history, echoes the reply. */
  say(text: string, options: TurnOptions = {}): Promise<Sent> {
    this.history.push(userMessage(text));
    return this.exchange(options);
  }

  /** Hands back results for the last reply's tool calls, sends, echoes the reply. */
  answerTools(result: string, options: TurnOptions = {}): Promise<Sent> {
    this.history.push(...toolResults(this.format, this.lastReply, result));
    return this.exchange(options);
  }

  /** Sends an arbitrary history with this conversation's settings, without touching its own history. */
  sendRaw(messages: Msg[], options: TurnOptions = {}): Promise<Sent> {
    return this.client.send(messages, { ...this.sendOptions(), ...options });
  }

  /** Replaces the history (trim, compaction, edit) without sending. */
  replaceHistory(messages: Msg[]): void {
    this.history.splice(0, this.history.length, ...messages);
  }

  async exchange(options: TurnOptions = {}): Promise<Sent> {
    const sent = await this.client.send([...this.history], { ...this.sendOptions(), ...options });
    this.history.push(echoOf(this.format, sent.reply, this.options.echo ?? 'returned', this.options.alter));
    this.turns.push(sent);
    return sent;
  }

  private sendOptions(): SendOptions {
    return { stream: this.options.stream, system: this.options.system?.(), tools: this.options.tools };
  }
}
