import type { ScriptedToolCall } from '../../src/simulator/respond.js';

/**
 * A minimal agent client for lineage tests: keeps one conversation's history in either wire format, sends it
 * (JSON or streamed) through the gateway, appends the reply it got, and hands tool results back, as agent
 * frameworks do. Replies are scripted through the simulator's `x-sim-*` headers (tool calls that delegate
 * to sub-agents, a final answer's text).
 */
export type WireFormat = 'openai' | 'anthropic';

export interface Turn {
  sessionId: string;
  parentSessionId: string | null;
  /** The reply's text (empty for a pure tool-call reply). */
  text: string;
  /** The reply's tool calls, with the ids the provider gave them. */
  calls: { id: string; name: string }[];
}

interface OpenAiMessage {
  role: string;
  content: string | null;
  tool_calls?: unknown[];
  tool_call_id?: string;
}

export class AgentConversation {
  private readonly openai: OpenAiMessage[] = [];
  private readonly anthropic: { role: string; content: unknown }[] = [];
  /** Session ids the gateway answered with, one per request. */
  readonly sessions: string[] = [];

  constructor(
    private readonly format: WireFormat,
    private readonly url: string,
    private readonly credential: string,
    private readonly system: string,
    private readonly headers: Record<string, string> = {},
  ) {
    if (format === 'openai') this.openai.push({ role: 'system', content: system });
  }

  userSays(text: string, options: { toolCalls?: ScriptedToolCall[]; reply?: string; stream?: boolean } = {}): Promise<Turn> {
    if (this.format === 'openai') this.openai.push({ role: 'user', content: text });
    else this.anthropic.push({ role: 'user', content: [{ type: 'text', text }] });
    return this.send(options);
  }

  toolResults(results: { id: string; content: string }[], options: { toolCalls?: ScriptedToolCall[]; reply?: string; stream?: boolean } = {}): Promise<Turn> {
    if (this.format === 'openai') for (const r of results) this.openai.push({ role: 'tool', tool_call_id: r.id, content: r.content });
    else this.anthropic.push({ role: 'user', content: results.map((r) => ({ type: 'tool_result', tool_use_id: r.id, content: r.content })) });
    return this.send(options);
  }

  private async send(options: { toolCalls?: ScriptedToolCall[]; reply?: string; stream?: boolean }): Promise<Turn> {
    const stream = options.stream ?? false;
    const headers: Record<string, string> = { 'content-type': 'application/json', ...this.headers };
    if (options.toolCalls) headers['x-sim-tool-calls'] = encodeURIComponent(JSON.stringify(options.toolCalls));
    if (options.reply !== undefined) headers['x-sim-reply'] = encodeURIComponent(options.reply);
    let path: string;
    let body: unknown;
    if (this.format === 'openai') {
      headers.authorization = `Bearer ${this.credential}`;
      path = '/v1/chat/completions';
      body = { model: 'gpt-4o-mini', stream, ...(stream ? { stream_options: { include_usage: true } } : {}), messages: this.openai };
    } else {
      headers['x-api-key'] = this.credential;
      headers['anthropic-version'] = '2023-06-01';
      path = '/v1/messages';
      body = { model: 'claude-haiku-4-5', max_tokens: 1024, stream, system: this.system, messages: this.anthropic };
    }
    const response = await fetch(`${this.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    const raw = await response.text();
    if (response.status !== 200) throw new Error(`status ${response.status}: ${raw.slice(0, 300)}`);
    const turn = this.format === 'openai' ? this.openAiReply(raw, stream) : this.anthropicReply(raw, stream);
    const sessionId = response.headers.get('x-session-id') ?? '';
    this.sessions.push(sessionId);
    return { ...turn, sessionId, parentSessionId: response.headers.get('x-parent-session-id') };
  }

  private openAiReply(raw: string, stream: boolean): Omit<Turn, 'sessionId' | 'parentSessionId'> {
    let text = '';
    const calls: { id: string; name: string; arguments: string }[] = [];
    if (!stream) {
      const message = JSON.parse(raw).choices[0].message;
      text = message.content ?? '';
      for (const call of message.tool_calls ?? []) calls.push({ id: call.id, name: call.function.name, arguments: call.function.arguments });
    } else {
      for (const data of sseData(raw)) {
        const delta = data.choices?.[0]?.delta;
        if (!delta) continue;
        if (typeof delta.content === 'string') text += delta.content;
        for (const piece of delta.tool_calls ?? []) {
          const call = (calls[piece.index] ??= { id: '', name: '', arguments: '' });
          if (piece.id) call.id = piece.id;
          if (piece.function?.name) call.name += piece.function.name;
          if (piece.function?.arguments) call.arguments += piece.function.arguments;
        }
      }
    }
    this.openai.push({
      role: 'assistant',
      content: text || null,
      ...(calls.length > 0 ? { tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) } : {}),
    });
    return { text, calls: calls.map(({ id, name }) => ({ id, name })) };
  }

  private anthropicReply(raw: string, stream: boolean): Omit<Turn, 'sessionId' | 'parentSessionId'> {
    let blocks: Record<string, any>[] = [];
    if (!stream) blocks = JSON.parse(raw).content;
    else {
      const partial: string[] = [];
      for (const event of sseData(raw)) {
        if (event.type === 'content_block_start') {
          blocks[event.index] = { ...event.content_block };
          partial[event.index] = '';
        } else if (event.type === 'content_block_delta') {
          if (event.delta.type === 'text_delta') blocks[event.index].text += event.delta.text;
          else if (event.delta.type === 'input_json_delta') partial[event.index] += event.delta.partial_json;
        }
      }
      blocks = blocks.map((block, i) => (block.type === 'tool_use' ? { ...block, input: partial[i] ? JSON.parse(partial[i]) : {} } : block));
    }
    this.anthropic.push({ role: 'assistant', content: blocks });
    const text = blocks
      .filter((b) => b.type === 'text')
      .map((b) => b.text)
      .join('');
    return { text, calls: blocks.filter((b) => b.type === 'tool_use').map((b) => ({ id: b.id, name: b.name })) };
  }
}

function* sseData(raw: string): Generator<Record<string, any>> {
  for (const frame of raw.split('\n\n')) {
    const line = frame.split('\n').find((l) => l.startsWith('data: '));
    if (!line || line === 'data: [DONE]') continue;
    yield JSON.parse(line.slice(6));
  }
}
