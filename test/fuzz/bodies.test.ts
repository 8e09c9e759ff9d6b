// Property-based fuzzing of request bodies through a real gateway process per wire format: wrong types in
// every field, deep nesting where tools put nested values, huge and broken strings, invalid JSON, and valid
// conversations (streamed or not). Every answer must come in time, with a documented status, in the right
// error shape, with no secret in it; afterwards the gateway must still serve a plain request.
// See harness.ts for FUZZ_SEED / FUZZ_RUNS / FUZZ_TIMEOUT_MS / FUZZ_BUDGET_MS.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyMutations,
  bodyWithRawJson,
  bodyWithString,
  loneSurrogate,
  mutation,
  nastyChar,
  nestedJson,
  ROUTES,
  STRING_PLACES,
  type NestShape,
} from './bodies.js';
import { assertProperty, checkAnswer, FuzzFleet, MAX_BODY_SIZE, send, TEST_TIMEOUT_MS, type WireFormat } from './harness.js';

const fleet = new FuzzFleet();
beforeAll(() => fleet.start(['openai', 'anthropic']), 30_000);
afterAll(() => fleet.stop(), 30_000);

const JSON_HEADERS = { 'content-type': 'application/json' };

describe.each<WireFormat>(['openai', 'anthropic'])('%s gateway: request bodies', (type) => {
  const routes = ROUTES[type];
  const gateway = () => fleet.get(type);
  const routeIndex = fc.nat({ max: routes.length - 1 });

  it('answers bodies with wrong types in any field (messages as a string, null roles, arrays for objects, …)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const property = fc.asyncProperty(
      routeIndex,
      fc.option(fc.boolean(), { nil: null }),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      async (r, stream, mutations) => {
        const route = routes[r];
        const { body } = applyMutations(route, mutations, stream);
        const answer = await send(fleet, gateway(), { method: 'POST', path: route.path, headers: JSON_HEADERS, body: JSON.stringify(body) });
        checkAnswer(answer);
        if (body === null || typeof body !== 'object' || Array.isArray(body)) expect(answer.status, 'a JSON body that is not an object').toBe(400);
      },
    );
    await assertProperty(fleet, gateway(), property, 60);
  });

  it('answers deep nesting in messages, tool results, tool-call arguments, tool_use input, function_call_output', { timeout: TEST_TIMEOUT_MS }, async () => {
    const property = fc.asyncProperty(
      routeIndex.chain((r) => fc.tuple(fc.constant(r), fc.constantFrom(...Object.keys(routes[r].deep)))),
      fc.oneof(
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 64 }) },
        { weight: 3, arbitrary: fc.integer({ min: 64, max: 5000 }) },
        { weight: 1, arbitrary: fc.integer({ min: 5000, max: 20_000 }) },
      ),
      fc.constantFrom<NestShape>('array', 'object', 'mixed', 'content_blocks'),
      fc.constantFrom('"x"', '1', 'null', '{"type":"text","text":"deep"}', '[]'),
      fc.boolean(),
      async ([r, place], depth, shape, leaf, stream) => {
        const route = routes[r];
        const body = bodyWithRawJson(route, route.deep[place], nestedJson(depth, shape, leaf), stream);
        const answer = await send(fleet, gateway(), { method: 'POST', path: route.path, headers: JSON_HEADERS, body });
        checkAnswer(answer);
      },
    );
    await assertProperty(fleet, gateway(), property, 50);
  });

  it('answers huge strings, lone surrogates, invalid UTF-8 and odd keys in any text field', { timeout: TEST_TIMEOUT_MS }, async () => {
    type Text = { kind: 'huge'; unit: string; bytes: number } | { kind: 'nasty'; text: string } | { kind: 'raw_bytes'; bytes: number[] };
    const text: fc.Arbitrary<Text> = fc.oneof(
      fc.record({
        kind: fc.constant('huge' as const),
        unit: fc.constantFrom('a', 'é', '😀', '\u0000', '\\', '"', '\ud800', 'ab\udc00'),
        // Bytes of the string once in the JSON body: mostly up to 256 KiB, some megabytes (over the limit: next property).
        bytes: fc.oneof(
          { weight: 4, arbitrary: fc.integer({ min: 1000, max: 256 * 1024 }) },
          { weight: 1, arbitrary: fc.integer({ min: 256 * 1024, max: 3 * 1024 * 1024 }) },
        ),
      }),
      fc.record({ kind: fc.constant('nasty' as const), text: fc.string({ unit: nastyChar, maxLength: 64 }) }),
      fc.record({
        kind: fc.constant('raw_bytes' as const),
        // Bytes that are not UTF-8: lone continuation bytes, overlongs, encoded surrogates (CESU), 0xFF.
        bytes: fc.array(fc.oneof(fc.constantFrom(0x80, 0xbf, 0xc0, 0xc1, 0xed, 0xa0, 0xf5, 0xff, 0xfe), fc.integer({ min: 0x20, max: 0xff })), {
          minLength: 1,
          maxLength: 32,
        }),
      }),
    );
    const property = fc.asyncProperty(
      routeIndex.chain((r) => fc.tuple(fc.constant(r), fc.constantFrom(...Object.keys(STRING_PLACES[routes[r].path])))),
      text,
      fc.boolean(),
      fc.boolean(),
      async ([r, place], value, stream, asKey) => {
        const route = routes[r];
        const raw =
          value.kind === 'huge'
            ? value.unit.repeat(Math.ceil(value.bytes / Buffer.byteLength(JSON.stringify(value.unit).slice(1, -1))))
            : value.kind === 'nasty'
              ? value.text
              : Buffer.from(value.bytes.filter((b) => b !== 0x22 && b !== 0x5c));
        const body = bodyWithString(route, STRING_PLACES[route.path][place], raw, stream, asKey);
        const answer = await send(fleet, gateway(), { method: 'POST', path: route.path, headers: JSON_HEADERS, body });
        checkAnswer(answer);
      },
    );
    await assertProperty(fleet, gateway(), property, 30);
  });

  it('answers a body over server.max_body_size with a 413 the client can read (sent whole, as SDKs do)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const property = fc.asyncProperty(routeIndex, fc.integer({ min: 1, max: 1024 * 1024 }), fc.boolean(), async (r, over, stream) => {
      const route = routes[r];
      const body = bodyWithString(route, STRING_PLACES[route.path][Object.keys(STRING_PLACES[route.path])[0]], 'a'.repeat(MAX_BODY_SIZE + over), stream, false);
      const answer = await send(fleet, gateway(), { method: 'POST', path: route.path, headers: JSON_HEADERS, body });
      checkAnswer(answer);
      expect(answer.status, `a ${body.length}-byte body, over server.max_body_size`).toBe(413);
    });
    await assertProperty(fleet, gateway(), property, 4);
  });

  it('answers invalid JSON, empty bodies, non-object JSON and odd content types', { timeout: TEST_TIMEOUT_MS }, async () => {
    const valid = (r: number) => JSON.stringify(routes[r].body());
    const rawBody = (r: number): fc.Arbitrary<Buffer> =>
      fc.oneof(
        fc
          .constantFrom(
            '',
            ' ',
            '\n',
            'null',
            'true',
            '0',
            '-0',
            '1e999',
            '"messages"',
            '[]',
            '[{}]',
            '{',
            '}',
            '{}',
            '{"messages":',
            '{"a":1,}',
            "{'a':1}",
            'NaN',
            '{"messages": [',
            '\u0000',
            '{"a":"\\ud800"}',
            '{"a":"\\u00"}',
          )
          .map((s) => Buffer.from(s)),
        // A valid body cut anywhere.
        fc.nat().map((cut) => Buffer.from(valid(r).slice(0, cut % valid(r).length))),
        // A valid body with one byte changed.
        fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
          const bytes = Buffer.from(valid(r));
          bytes[at % bytes.length] = byte;
          return bytes;
        }),
        // A byte-order mark, trailing garbage, two bodies, duplicate and prototype keys.
        fc
          .constantFrom(
            `\ufeff${valid(r)}`,
            `${valid(r)}garbage`,
            `${valid(r)}${valid(r)}`,
            `{"messages":1,${valid(r).slice(1)}`,
            `{"__proto__":{"stream":true,"messages":[]},${valid(r).slice(1)}`,
            `{"constructor":{"prototype":{"polluted":1}},${valid(r).slice(1)}`,
            `{"stream":true,"stream":"yes",${valid(r).slice(1)}`,
            valid(r).replace('"model"', '"model\\u0000"'),
            valid(r).replace(/:/g, ' : '),
          )
          .map((s) => Buffer.from(s)),
        fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
      );
    const property = fc.asyncProperty(
      routeIndex.chain((r) => fc.tuple(fc.constant(r), rawBody(r))),
      fc.constantFrom<string | undefined>(
        'application/json',
        undefined,
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/json; charset=utf-16',
        'application/octet-stream',
        'APPLICATION/JSON',
        '',
        'application/json, text/html',
      ),
      fc.constantFrom<string | undefined>(undefined, 'gzip', 'identity', 'br, gzip'),
      async ([r, body], contentType, contentEncoding) => {
        const route = routes[r];
        const headers: Record<string, string> = {};
        if (contentType !== undefined) headers['content-type'] = contentType;
        if (contentEncoding !== undefined) headers['content-encoding'] = contentEncoding;
        const answer = await send(fleet, gateway(), { method: 'POST', path: route.path, headers, body });
        checkAnswer(answer);
        let parsed: unknown;
        let isObject = false;
        try {
          parsed = JSON.parse(body.toString('utf8'));
          isObject = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed);
        } catch {
          // not JSON
        }
        // 400 (invalid_json / invalid_body), or 415 for a content type the gateway does not read.
        if (!isObject) expect([400, 415], 'a body that is not a JSON object, on a JSON route').toContain(answer.status);
      },
    );
    await assertProperty(fleet, gateway(), property, 80);
  });

  it('answers valid conversations (any text, tool loops, streamed or not) with 200 and a complete body or stream', { timeout: TEST_TIMEOUT_MS }, async () => {
    const words = fc.string({
      unit: fc.oneof(
        { weight: 5, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
        { weight: 1, arbitrary: nastyChar },
        { weight: 1, arbitrary: loneSurrogate },
      ),
      minLength: 1,
      maxLength: 60,
    });
    const property = fc.asyncProperty(
      fc.array(words, { minLength: 1, maxLength: 7 }),
      fc.boolean(),
      fc.boolean(),
      fc.option(fc.string({ minLength: 1, maxLength: 40 }), { nil: undefined }),
      async (turns, stream, toolLoop, sessionHeader) => {
        if (turns.length % 2 === 0) turns = turns.slice(1); // user first and last
        const roles = turns.map((_, i) => (i % 2 === 0 ? 'user' : 'assistant'));
        let path: string;
        let body: Record<string, unknown>;
        if (type === 'openai') {
          const messages: Array<Record<string, unknown>> = turns.map((content, i) => ({ role: roles[i], content }));
          if (toolLoop) {
            messages.push(
              {
                role: 'assistant',
                content: null,
                tool_calls: [{ id: 'call_x', type: 'function', function: { name: 'lookup', arguments: JSON.stringify({ q: turns[0] }) } }],
              },
              { role: 'tool', tool_call_id: 'call_x', content: turns[0] },
            );
          }
          path = '/v1/chat/completions';
          body = { model: 'gpt-4o-mini', stream, messages };
        } else {
          const messages: Array<Record<string, unknown>> = turns.map((content, i) => ({ role: roles[i], content }));
          if (toolLoop) {
            messages.push(
              { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_x', name: 'lookup', input: { q: turns[0] } }] },
              { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_x', content: turns[0] }] },
            );
          }
          path = '/v1/messages';
          body = { model: 'claude-3-5-haiku-latest', max_tokens: 64, stream, messages };
        }
        const headers: Record<string, string> = { ...JSON_HEADERS };
        if (sessionHeader !== undefined) headers['x-session-id'] = encodeURIComponent(sessionHeader);
        const answer = await send(fleet, gateway(), { method: 'POST', path, headers, body: JSON.stringify(body) });
        checkAnswer(answer);
        expect(answer.status, `a valid conversation: ${answer.body.toString('utf8').slice(0, 300)}`).toBe(200);
        expect(answer.headers['x-session-id'], 'chat answers carry X-Session-ID').toMatch(/./);
        if (stream) expect(String(answer.headers['content-type'])).toMatch(/^text\/event-stream/);
      },
    );
    await assertProperty(fleet, gateway(), property, 40);
  });
});
