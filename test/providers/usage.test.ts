// Usage in one vocabulary: all input tokens counted in input_tokens, the cached part named beside it.
import { describe, expect, it } from 'vitest';
import { anthropicUsage } from '../../src/providers/anthropic/messages-reply.js';
import { openAiUsage } from '../../src/providers/openai/chat-reply.js';

describe('usage', () => {
  it('reads OpenAI cached prompt tokens (Chat Completions and Responses)', () => {
    expect(openAiUsage({ prompt_tokens: 5000, completion_tokens: 20, total_tokens: 5020, prompt_tokens_details: { cached_tokens: 4096 } })).toEqual({
      input_tokens: 5000,
      output_tokens: 20,
      total_tokens: 5020,
      cache_read_input_tokens: 4096,
    });
    expect(openAiUsage({ input_tokens: 300, output_tokens: 5, total_tokens: 305, input_tokens_details: { cached_tokens: 0 } })).toEqual({
      input_tokens: 300,
      output_tokens: 5,
      total_tokens: 305,
    });
  });

  it('counts Anthropic cache reads and writes into the input and names them, through message_delta', () => {
    const start = anthropicUsage({ input_tokens: 10, cache_creation_input_tokens: 2000, cache_read_input_tokens: 6000, output_tokens: 1 });
    expect(start).toEqual({ input_tokens: 8010, output_tokens: 1, total_tokens: 8011, cache_read_input_tokens: 6000, cache_write_input_tokens: 2000 });
    // message_delta carries the final output count only: the input and its cache parts stand.
    expect(anthropicUsage({ output_tokens: 42 }, start)).toEqual({
      input_tokens: 8010,
      output_tokens: 42,
      total_tokens: 8052,
      cache_read_input_tokens: 6000,
      cache_write_input_tokens: 2000,
    });
  });
});
