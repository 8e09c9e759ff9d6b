// Request bodies for the fuzz properties: a rich valid body per route (system prompt, tools, a tool round
// trip), the places in it where deep nesting goes, and the arbitraries. Generated values are small specs
// (which route, which field, how deep, how long) and the bodies are built from them, so a shrunk
// counterexample stays readable even when its body is megabytes or thousands of levels deep.
import fc from 'fast-check';
import type { WireFormat } from './harness.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Route {
  path: string;
  /** The route streams when asked (`stream: true`). */
  streams: boolean;
  body(): Record<string, unknown>;
  /** Paths to fields that may hold a nested value (tool results, tool-call arguments as objects, …). */
  deep: Record<string, Array<string | number>>;
}

const weatherSchema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };

const OPENAI_ROUTES: Route[] = [
  {
    path: '/v1/chat/completions',
    streams: true,
    body: () => ({
      model: 'gpt-4o-mini',
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: weatherSchema } }],
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: [{ type: 'text', text: 'What is the weather in Paris?' }] },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
        { role: 'user', content: 'thanks' },
      ],
    }),
    deep: {
      user_content: ['messages', 1, 'content'],
      tool_result: ['messages', 3, 'content'],
      tool_call_arguments_object: ['messages', 2, 'tool_calls', 0, 'function', 'arguments'],
      tool_parameters: ['tools', 0, 'function', 'parameters'],
      metadata_session_id: ['metadata', 'session_id'],
      unknown_field: ['extra'],
      messages: ['messages'],
    },
  },
  {
    path: '/v1/responses',
    streams: true,
    body: () => ({
      model: 'gpt-4o-mini',
      instructions: 'Be terse.',
      tools: [{ type: 'function', name: 'get_weather', parameters: weatherSchema }],
      input: [
        { role: 'user', content: [{ type: 'input_text', text: 'What is the weather in Paris?' }] },
        { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
        { role: 'user', content: 'thanks' },
      ],
    }),
    deep: {
      function_call_output: ['input', 2, 'output'],
      function_call_arguments_object: ['input', 1, 'arguments'],
      user_content: ['input', 0, 'content'],
      input: ['input'],
      tool_parameters: ['tools', 0, 'parameters'],
      metadata: ['metadata'],
    },
  },
  {
    path: '/v1/completions',
    streams: true,
    body: () => ({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi', max_tokens: 16 }),
    deep: { prompt: ['prompt'], unknown_field: ['extra'] },
  },
  {
    path: '/v1/embeddings',
    streams: false,
    body: () => ({ model: 'text-embedding-3-small', input: ['alpha', 'beta'] }),
    deep: { input: ['input'], unknown_field: ['extra'] },
  },
];

const anthropicMessages = (): Json => [
  { role: 'user', content: 'What is the weather in Paris?' },
  {
    role: 'assistant',
    content: [
      { type: 'text', text: 'Checking.' },
      { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
    ],
  },
  { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'sunny' }] }] },
  { role: 'assistant', content: 'It is sunny.' },
  { role: 'user', content: 'thanks' },
];

const anthropicDeep: Route['deep'] = {
  tool_use_input: ['messages', 1, 'content', 1, 'input'],
  tool_result: ['messages', 2, 'content', 0, 'content'],
  user_content: ['messages', 0, 'content'],
  system: ['system'],
  tool_input_schema: ['tools', 0, 'input_schema'],
  metadata: ['metadata', 'user_id'],
  messages: ['messages'],
};

const ANTHROPIC_ROUTES: Route[] = [
  {
    path: '/v1/messages',
    streams: true,
    body: () => ({
      model: 'claude-3-5-haiku-latest',
      max_tokens: 64,
      system: 'Be terse.',
      tools: [{ name: 'get_weather', input_schema: weatherSchema }],
      messages: anthropicMessages(),
    }),
    deep: anthropicDeep,
  },
  {
    path: '/v1/messages/count_tokens',
    streams: false,
    body: () => ({
      model: 'claude-3-5-haiku-latest',
      system: 'Be terse.',
      tools: [{ name: 'get_weather', input_schema: weatherSchema }],
      messages: anthropicMessages(),
    }),
    deep: anthropicDeep,
  },
];

export const ROUTES: Record<WireFormat, Route[]> = { openai: OPENAI_ROUTES, anthropic: ANTHROPIC_ROUTES };

/** Every path to a value of the body (root included), for "a wrong type in every field". */
export function fieldPaths(root: Json): Array<Array<string | number>> {
  // Iterative: a body may be nested thousands of levels deep.
  const out: Array<Array<string | number>> = [];
  const pending: Array<[Json, Array<string | number>]> = [[root, []]];
  while (pending.length > 0) {
    const [value, prefix] = pending.pop()!;
    out.push(prefix);
    if (Array.isArray(value)) value.forEach((item, index) => pending.push([item, [...prefix, index]]));
    else if (value && typeof value === 'object') for (const key of Object.keys(value)) pending.push([value[key], [...prefix, key]]);
  }
  return out;
}

/** Sets (creating objects on the way) or deletes the value at `path`; returns the new root. */
export function setAt(root: Json, path: Array<string | number>, given: Json | undefined): Json {
  // A copy: generated values may be shared between runs and mutations, and a later mutation inside one
  // must never make the body (or the next run's) circular.
  const value = given === undefined ? undefined : structuredClone(given);
  if (path.length === 0) return value === undefined ? null : value;
  let node = root as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) {
    let next = node[key];
    if (next === null || typeof next !== 'object') {
      next = {};
      node[key] = next;
    }
    node = next as Record<string | number, Json>;
  }
  const last = path[path.length - 1];
  if (value === undefined) {
    if (Array.isArray(node) && typeof last === 'number') node.splice(last, 1);
    else delete node[last];
  } else node[last] = value;
  return root;
}

export function getAt(root: Json, path: Array<string | number>): Json | undefined {
  let node: Json | undefined = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, Json>)[key];
  }
  return node;
}

// ---------------------------------------------------------------------------------------------------------
// Wrong types

/** Values of the wrong type (or the right type with the wrong content) for any field. */
export const weirdValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(
    null,
    true,
    false,
    0,
    -1,
    1.5,
    1e308,
    -1e-308,
    '',
    ' ',
    'user',
    'assistant',
    'tool',
    'system',
    'developer',
    'function',
    [],
    {},
    [null],
    [[]],
    [{}],
    { role: null },
    { role: 'user', content: null },
    { type: 'tool_use' },
    { type: 'tool_result' },
    { type: 'function_call_output' },
    { type: 'text', text: null },
    { type: 'image_url', image_url: 123 },
    '__proto__',
    'constructor',
    { constructor: { prototype: {} } },
    { toString: 1, valueOf: 2, hasOwnProperty: 3 },
  ),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.string({ maxLength: 24 }),
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  fc.array(fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>, { maxLength: 4 }),
);

export type Mutation =
  | { op: 'set'; field: number; value: Json }
  | { op: 'delete'; field: number }
  /** The field's value inside an array: `x` becomes `[x]` (arrays where objects are expected). */
  | { op: 'wrap'; field: number }
  /** An object or array becomes its JSON text, or a string its parsed value (arguments as string vs object). */
  | { op: 'flip_encoding'; field: number };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), field: fc.nat(), value: weirdValue }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), field: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('wrap' as const), field: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('flip_encoding' as const), field: fc.nat() }) },
);

export function applyMutations(route: Route, mutations: Mutation[], stream: boolean | null): { body: Json; described: string[] } {
  let body = route.body() as Json;
  if (stream !== null) (body as Record<string, Json>).stream = stream;
  const described: string[] = [];
  for (const m of mutations) {
    const paths = fieldPaths(body);
    const path = paths[m.field % paths.length];
    const current = getAt(body, path);
    const at = path.length ? path.join('.') : '(root)';
    if (m.op === 'set') {
      body = setAt(body, path, m.value);
      described.push(`${at} = ${JSON.stringify(m.value)}`);
    } else if (m.op === 'delete') {
      body = setAt(body, path, undefined);
      described.push(`delete ${at}`);
    } else if (m.op === 'wrap') {
      body = setAt(body, path, [current ?? null]);
      described.push(`${at} = [${at}]`);
    } else {
      let flipped: Json = JSON.stringify(current ?? null);
      if (typeof current === 'string') {
        try {
          flipped = JSON.parse(current) as Json;
        } catch {
          flipped = { text: current };
        }
      }
      body = setAt(body, path, flipped);
      described.push(`${at} = ${JSON.stringify(flipped).slice(0, 80)}`);
    }
  }
  return { body, described };
}

// ---------------------------------------------------------------------------------------------------------
// Deep nesting

export type NestShape = 'array' | 'object' | 'mixed' | 'content_blocks';

/** JSON text `depth` levels deep around `leaf`, built as text (no recursion here, nor in JSON.stringify). */
export function nestedJson(depth: number, shape: NestShape, leaf: string): string {
  const open: string[] = [];
  const close: string[] = [];
  for (let level = 0; level < depth; level++) {
    const kind = shape === 'mixed' ? (level % 2 === 0 ? 'array' : 'object') : shape;
    if (kind === 'array') {
      open.push('[');
      close.push(']');
    } else if (kind === 'object') {
      open.push('{"a":');
      close.push('}');
    } else {
      // Blocks holding blocks, as tool results may: [{"type":"tool_result","content":[{"type":"text",…
      open.push('[{"type":"tool_result","tool_use_id":"toolu_1","text":"x","content":');
      close.push('}]');
    }
  }
  return open.join('') + leaf + close.reverse().join('');
}

const MARKER = '@@FUZZ_MARKER@@';

/** The route's body with the value at `path` replaced by raw JSON text. */
export function bodyWithRawJson(route: Route, path: Array<string | number>, rawJson: string, stream: boolean): string {
  const body = route.body() as Json;
  if (route.streams) (body as Record<string, Json>).stream = stream;
  const text = JSON.stringify(setAt(body, path, MARKER));
  return text.replace(JSON.stringify(MARKER), () => rawJson);
}

// ---------------------------------------------------------------------------------------------------------
// Strings

/** Single UTF-16 code units from the surrogate range: lone surrogates once alone in a string. */
export const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit));

/** Any code point, lone surrogates, controls and the characters JSON escapes. */
export const nastyChar = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  loneSurrogate,
  fc.constantFrom('\u0000', '\u001f', '"', '\\', '\u2028', '\u2029', '\ufeff', '\u202e', '\ufffd', '\uffff', '😀', 'é', 'e\u0301', '\r\n'),
);

/** Where a string goes, per route: text fields, the model, a tool name, an object key, the session id. */
export const STRING_PLACES: Record<string, Record<string, Array<string | number>>> = {
  '/v1/chat/completions': {
    user_text: ['messages', 4, 'content'],
    system: ['messages', 0, 'content'],
    tool_result: ['messages', 3, 'content'],
    tool_arguments: ['messages', 2, 'tool_calls', 0, 'function', 'arguments'],
    tool_name: ['tools', 0, 'function', 'name'],
    model: ['model'],
    metadata_session_id: ['metadata', 'session_id'],
    role: ['messages', 4, 'role'],
  },
  '/v1/responses': {
    user_text: ['input', 3, 'content'],
    instructions: ['instructions'],
    function_call_output: ['input', 2, 'output'],
    function_call_arguments: ['input', 1, 'arguments'],
    previous_response_id: ['previous_response_id'],
    model: ['model'],
    input_as_string: ['input'],
  },
  '/v1/completions': { prompt: ['prompt'], model: ['model'] },
  '/v1/embeddings': { input: ['input'], model: ['model'] },
  '/v1/messages': {
    user_text: ['messages', 4, 'content'],
    system: ['system'],
    tool_result: ['messages', 2, 'content', 0, 'content', 0, 'text'],
    tool_use_id: ['messages', 1, 'content', 1, 'id'],
    model: ['model'],
    metadata_user_id: ['metadata', 'user_id'],
    role: ['messages', 4, 'role'],
  },
  '/v1/messages/count_tokens': { user_text: ['messages', 4, 'content'], system: ['system'], model: ['model'] },
};

/** The route's body with `value` (a string, or raw bytes spliced inside the quotes) at `path`. */
export function bodyWithString(route: Route, path: Array<string | number>, value: string | Buffer, stream: boolean, asKey: boolean): Buffer {
  const body = route.body() as Json;
  if (route.streams) (body as Record<string, Json>).stream = stream;
  if (asKey) {
    // The string as an object key next to the field's value.
    const holder = getAt(body, path.slice(0, -1));
    if (holder && typeof holder === 'object' && !Array.isArray(holder)) (holder as Record<string, Json>)[MARKER] = 'x';
    else setAt(body, path, { [MARKER]: 'x' });
  } else setAt(body, path, MARKER);
  const text = JSON.stringify(body);
  const at = text.indexOf(MARKER);
  const before = Buffer.from(text.slice(0, at));
  const after = Buffer.from(text.slice(at + MARKER.length));
  const middle = typeof value === 'string' ? Buffer.from(JSON.stringify(value).slice(1, -1)) : value;
  return Buffer.concat([before, middle, after]);
}
