// Property-based fuzzing of the HTTP surface of a real gateway process per wire format, over raw TCP so
// nothing is normalised on the way: random methods and adversarial request targets (absolute-form, dot
// segments, near-miss admin paths, very long paths), header chaos (duplicates, huge and many headers,
// Expect, credentials spelled oddly, hop-by-hop headers) and broken framing (bad chunked encoding, bodies
// shorter than their Content-Length). Same invariants as the body properties (harness.ts), plus: admin
// content is never served without the admin token, and well-formed requests get the provider's 2xx.
//
// The input space is split so that each property meets one kind of handling: requests Node's HTTP parser
// accepts (routed by the gateway), malformed ones (refused by the parser before any route runs) and stalled
// ones (the server's timeouts). A defect in one kind then cannot hide the others behind it.
import { METHODS } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertProperty,
  checkAnswer,
  checkRaw,
  FuzzFleet,
  rawRequest,
  sendRaw,
  STALLED_BODY_DEADLINE_MS,
  TEST_TIMEOUT_MS,
  type FuzzGateway,
  type RawOutcome,
  type WireFormat,
} from './harness.js';

const fleet = new FuzzFleet();
beforeAll(() => fleet.start(['openai', 'anthropic']), 30_000);
afterAll(() => fleet.stop(), 30_000);

type Header = [string, string];

function hostHeader(gateway: FuzzGateway): Header {
  return ['Host', `${gateway.host}:${gateway.port}`];
}

function chatBody(gateway: FuzzGateway, stream = false): Buffer {
  return Buffer.from(JSON.stringify({ ...gateway.validChat('fuzz the headers'), stream }));
}

/** The answer, which must be complete, documented and well shaped, and (when `success`) a 2xx. */
function expectAnswered(outcome: RawOutcome, what: string, success: boolean): void {
  checkRaw(outcome, what);
  if (success && outcome.kind === 'response') {
    for (const { status, body } of outcome.answers) {
      expect(
        status >= 200 && status < 300,
        `${what}: a well-formed request must get the provider's answer; got ${status} ${body.toString('utf8').slice(0, 300)}`,
      ).toBe(true);
    }
  }
}

/** A header value as HTTP allows it (RFC 9110 field-value: visible characters, spaces, tabs, obs-text). */
const fieldValue = (value: string) => value.replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, ' ');

// The simulator's /echo test route reflects the request headers it received, the gateway-injected provider
// key among them: a property of the test provider, not of the gateway, so no generated target goes there.
const reachesEcho = (target: string) => /^(?:[a-z]+:\/\/[^/]*)?\/+echo(?:[/?#]|$)/i.test(target);

/** Methods Node's parser knows (others are malformed requests, fuzzed below); CONNECT has its own handling. */
const PARSED_METHODS = METHODS.filter((method) => method !== 'CONNECT');

describe.each<WireFormat>(['openai', 'anthropic'])('%s gateway: HTTP surface', (type) => {
  const gateway = () => fleet.get(type);

  it('answers any method on adversarial targets (dot segments, absolute-form, near-miss admin paths, long paths), never with admin content', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const method = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS') },
      { weight: 1, arbitrary: fc.constantFrom(...PARSED_METHODS) },
    );
    const fixedTarget = fc.constantFrom(
      '/',
      '//v1/chat/completions',
      '/v1/chat/completions/',
      '/v1//chat/completions',
      '/v1/chat/completions?',
      '/v1/chat/completions?a=1&a=2&stream=true',
      '/v1/chat/completions#frag',
      '/V1/CHAT/COMPLETIONS',
      '/v1/messages/',
      '//v1/messages',
      '/v1/messages/count_tokens/',
      '/v1/responses/',
      '/v1/models',
      '/v1/files',
      '/v1/../admin',
      '/v1/../config',
      '/v1/%2e%2e/config',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/..',
      '/../config',
      '/./config',
      '/config/.',
      '/%2fconfig',
      '//config',
      '/Metrics',
      '/metrics/',
      '/METRICS',
      '/metrics;x',
      '/metrics%20',
      '/metrics/prometheus/',
      '/Metrics/Prometheus',
      '/metrics?format=prometheus',
      '/sessions;x',
      '/sessions/',
      '/Sessions',
      '/sessions/..%2f..%2fconfig',
      '/sessions/%00',
      '/sessions?limit=-1',
      '/sessions?limit=999999999999',
      '/config/',
      '/Config',
      '/config;',
      '/config%20',
      '/config?x',
      '/config%2f',
      '/ui',
      '/ui/',
      '/UI',
      '/ui/../config',
      '/ui/login',
      '/ui;/../config',
      '/ui/app.js',
      '/health',
      '/health/',
      '/HEALTH',
      '/health/../config',
      '/ready',
      '/ready/',
      '/favicon.ico',
      'http://169.254.169.254/latest',
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'http://localhost/config',
      'HTTP://127.0.0.1/metrics',
      'https://example.com/v1/chat/completions',
      'http://[::1]/sessions',
      'http://user:pass@example.com/config',
      '/v1/chat/completions%00',
      '/v1/chat/completions%0d%0aX-Injected:%201',
      '/v1/models?%zz',
      '/%e2%80%ae/config',
    );
    const segment = fc.oneof(
      fc.constantFrom(
        'v1',
        'chat',
        'completions',
        'messages',
        'responses',
        '..',
        '.',
        '%2e%2e',
        '%2E%2E',
        '%2f',
        '%5c',
        'config',
        'metrics',
        'sessions',
        'ui',
        'health',
        ';x',
        '',
        '~',
        '%00',
        '%25',
      ),
      fc.string({ unit: 'grapheme-ascii', maxLength: 12 }).map((s) => encodeURIComponent(s)),
    );
    const generatedTarget = fc
      .tuple(fc.array(segment, { minLength: 1, maxLength: 8 }), fc.option(fc.string({ unit: 'grapheme-ascii', maxLength: 30 }), { nil: undefined }))
      .map(([segments, query]) => `/${segments.join('/')}${query === undefined ? '' : `?${encodeURIComponent(query)}`}`);
    // Long, but inside Node's 16 KiB header limit (beyond it is the 431 of the header property).
    const longTarget = fc
      .tuple(fc.constantFrom('/v1/', '/metrics/', '/sessions/', '/v1/chat/completions?q=', '/config/'), fc.integer({ min: 1000, max: 15_000 }))
      .map(([prefix, n]) => prefix + 'a'.repeat(n));
    const target = fc
      .oneof({ weight: 4, arbitrary: fixedTarget }, { weight: 3, arbitrary: generatedTarget }, { weight: 1, arbitrary: longTarget })
      .filter((t) => !reachesEcho(t));

    const property = fc.asyncProperty(method, target, fc.boolean(), fc.constantFrom('none', 'wrong-bearer', 'cookie'), async (m, t, withBody, credential) => {
      const g = gateway();
      const headers: Header[] = [hostHeader(g), ['Connection', 'close']];
      if (credential === 'wrong-bearer') headers.push(['Authorization', 'Bearer not-the-admin-token']);
      if (credential === 'cookie') headers.push(['Cookie', 'cylestio_admin=forged']);
      const body = withBody ? chatBody(g) : undefined;
      if (body) headers.push(['Content-Type', 'application/json'], ['Content-Length', String(body.length)]);
      const outcome = await sendRaw(fleet, g, { bytes: rawRequest(m, t, headers, body), method: m, target: t });
      checkRaw(outcome, `${m} ${t.slice(0, 120)}`);
    });
    await assertProperty(fleet, gateway(), property, 100);
  });

  it('answers targets with invalid percent-encoding (or percent-encoded invalid UTF-8) with a documented status in the standard shape', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const property = fc.asyncProperty(
      fc.constantFrom('GET', 'POST', 'DELETE', 'HEAD'),
      fc.constantFrom(
        '/%',
        '/%zz',
        '/%c0%ae%c0%ae/config',
        '/%ff',
        '/v1/chat/completions%',
        '/v1/messages%g0',
        '/metrics%',
        '/sessions/%E0%A4%A',
        '/config%c0',
        '/ui/%ed%a0%80',
        '/health%',
      ),
      async (m, t) => {
        const g = gateway();
        const outcome = await sendRaw(fleet, g, {
          bytes: rawRequest(m, t, [hostHeader(g), ['Connection', 'close'], ['Content-Length', '0']]),
          method: m,
          target: t,
        });
        checkRaw(outcome, `${m} ${t}`);
      },
    );
    await assertProperty(fleet, gateway(), property, 20);
  });

  it('answers chat requests with odd credentials, session ids, duplicate and hop-by-hop headers with the provider answer', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const header: fc.Arbitrary<Header> = fc.oneof(
      fc.constantFrom<Header>(
        ['Authorization', 'Bearer sk-client'],
        ['authorization', 'bearer sk-client'],
        ['AUTHORIZATION', 'BEARER sk-client'],
        ['Authorization', 'Bearer'],
        ['Authorization', 'Bearer '],
        ['Authorization', ''],
        ['Authorization', 'Basic dXNlcjpwYXNz'],
        ['Authorization', 'Bearer   sk-spaced   '],
        ['Authorization', 'Bearer sk-a, Bearer sk-b'],
        ['Authorization', 'Token sk-x'],
        ['Authorization', 'Bearer \u00ff\u00fe'],
        ['Authorization', 'Bearer\tsk-tab'],
        ['x-api-key', 'sk-client'],
        ['X-API-KEY', ''],
        ['x-api-key', 'sk-a, sk-b'],
        ['api-key', 'azure-style'],
        ['Proxy-Authorization', 'Bearer sk-proxy'],
        ['anthropic-version', '2023-06-01'],
        ['anthropic-version', 'not-a-date'],
        ['anthropic-beta', 'x, y'],
        ['x-session-id', ''],
        ['x-session-id', ' '],
        ['x-session-id', '../../etc/passwd'],
        ['x-session-id', 'sess_AAAAAAAAAAAAAAAAAAAA'],
        ['X-Session-Id', '\u00e9\u00e8'],
        ['x-foo-session-id', 'vendor'],
        ['helicone-session-id', 'h'],
        ['session_id', 'underscore'],
        ['x-cylestio-session-id', '%00'],
        ['x-forwarded-for', 'not-an-ip, 10.0.0.1'],
        ['x-real-ip', '::ffff:1.2.3.4'],
        ['Forwarded', 'for=1.2.3.4;host=evil.example;proto=https'],
        ['Via', '1.1 evil'],
        ['Cookie', 'cylestio_admin=forged; a=b'],
        ['Cookie', ''],
        ['Accept', 'text/event-stream'],
        ['Accept', '*/*;q=0'],
        ['Accept', 'text/plain'],
        ['Origin', 'https://evil.example'],
        ['Origin', 'null'],
        ['Referer', 'javascript:alert(1)'],
        ['Content-Type', 'application/json'],
        ['Content-Type', 'application/json; charset=utf-8'],
        ['Accept-Encoding', 'gzip, br, zstd'],
        ['Accept-Encoding', 'identity;q=0, *;q=0'],
        ['Content-Encoding', 'identity'],
        ['X-HTTP-Method-Override', 'DELETE'],
        ['X-Original-URL', '/config'],
        ['X-Rewrite-URL', '/metrics'],
        ['Connection', 'keep-alive'],
        ['Connection', 'x-f-listed, keep-alive'],
        ['x-f-listed', 'dropped-when-listed'],
        ['Keep-Alive', 'timeout=1, max=1'],
        ['TE', 'trailers'],
        ['Trailer', 'x-f-trailer'],
        ['Proxy-Connection', 'keep-alive'],
        ['Connection', 'TE, x-session-id'],
        ['Priority', 'u=0'],
        ['Range', 'bytes=0-10'],
        ['If-None-Match', '*'],
        ['Max-Forwards', '0'],
        ['x-sim-bogus', '1'],
      ),
      fc
        .tuple(fc.constantFrom('x-session-id', 'authorization', 'x-api-key', 'x-fuzz', 'metadata'), fc.string({ unit: 'binary-ascii', maxLength: 40 }))
        .map(([name, value]) => [name, fieldValue(value)] as Header),
      fc
        .tuple(fc.stringMatching(/^x-f-[a-z0-9-]{1,16}$/), fc.string({ unit: 'grapheme-ascii', maxLength: 40 }))
        .map(([name, value]) => [name, value] as Header),
    );
    const property = fc.asyncProperty(fc.array(header, { minLength: 1, maxLength: 8 }), fc.boolean(), async (extra, stream) => {
      const g = gateway();
      const body = chatBody(g, stream);
      const headers: Header[] = [hostHeader(g), ['Content-Type', 'application/json'], ...extra, ['Content-Length', String(body.length)]];
      const outcome = await sendRaw(fleet, g, { bytes: rawRequest('POST', g.chatPath, headers, body), method: 'POST', target: g.chatPath });
      // A cross-origin request without a key of its own may be refused (401 credential_required, by design).
      const crossOrigin = extra.some(([name]) => name.toLowerCase() === 'origin');
      expectAnswered(outcome, `POST ${g.chatPath} with ${JSON.stringify(extra).slice(0, 300)}`, !crossOrigin);
    });
    await assertProperty(fleet, gateway(), property, 60);
  });

  it('answers Expect: 100-continue requests with the provider answer, body sent after the 100 or at once', { timeout: TEST_TIMEOUT_MS }, async () => {
    const property = fc.asyncProperty(
      fc.constantFrom('100-continue', '100-Continue', '100-CONTINUE', ' 100-continue '),
      fc.boolean(),
      fc.boolean(),
      fc.constantFrom('chat', 'pass-through'),
      async (expectation, stream, waitForContinue, route) => {
        const g = gateway();
        const body = chatBody(g, stream);
        const path = route === 'chat' ? g.chatPath : '/v1/models';
        const method = route === 'chat' ? 'POST' : 'GET';
        const headers: Header[] = [
          hostHeader(g),
          ['Content-Type', 'application/json'],
          ['Content-Length', String(route === 'chat' ? body.length : 0)],
          ['Expect', expectation],
        ];
        const head = rawRequest(method, path, headers);
        const rest = route === 'chat' ? body : Buffer.alloc(0);
        const outcome = await sendRaw(
          fleet,
          g,
          waitForContinue ? { bytes: head, afterContinue: rest, method, target: path } : { bytes: Buffer.concat([head, rest]), method, target: path },
        );
        expectAnswered(
          outcome,
          `${method} ${path} with Expect: ${JSON.stringify(expectation)} (${waitForContinue ? 'body after the 100' : 'body at once'})`,
          true,
        );
      },
    );
    await assertProperty(fleet, gateway(), property, 24);
  });

  it('answers other Expect values with a documented status in the standard shape', { timeout: TEST_TIMEOUT_MS }, async () => {
    const property = fc.asyncProperty(fc.constantFrom('foo', '', '100-continue, foo', '200-ok', '100-continue;x=1'), async (expectation) => {
      const g = gateway();
      const body = chatBody(g);
      const headers: Header[] = [hostHeader(g), ['Content-Type', 'application/json'], ['Content-Length', String(body.length)], ['Expect', expectation]];
      const outcome = await sendRaw(fleet, g, { bytes: rawRequest('POST', g.chatPath, headers, body), method: 'POST', target: g.chatPath });
      // RFC 9110 lets a server refuse an expectation it does not know (417); it must still be a documented status and shape.
      checkRaw(outcome, `POST ${g.chatPath} with Expect: ${JSON.stringify(expectation)}`);
    });
    await assertProperty(fleet, gateway(), property, 10);
  });

  it('answers huge and numerous headers (431 in the standard shape, or the provider answer)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const property = fc.asyncProperty(
      fc.oneof(
        fc.record({
          kind: fc.constant('one_big' as const),
          name: fc.constantFrom('x-fuzz-big', 'authorization', 'x-session-id', 'cookie', 'x-api-key'),
          size: fc.integer({ min: 1000, max: 100_000 }),
        }),
        fc.record({ kind: fc.constant('many' as const), count: fc.integer({ min: 50, max: 3000 }), size: fc.integer({ min: 1, max: 64 }) }),
        fc.record({
          kind: fc.constant('duplicated' as const),
          name: fc.constantFrom('x-session-id', 'authorization', 'x-api-key', 'content-type', 'anthropic-version', 'cookie', 'x-fuzz'),
          count: fc.integer({ min: 2, max: 500 }),
        }),
        fc.record({ kind: fc.constant('long_target' as const), size: fc.integer({ min: 16_000, max: 100_000 }) }),
      ),
      async (spec) => {
        const g = gateway();
        const body = chatBody(g);
        const extra: Header[] = [];
        if (spec.kind === 'one_big') extra.push([spec.name, (spec.name === 'authorization' ? 'Bearer ' : '') + 'k'.repeat(spec.size)]);
        else if (spec.kind === 'many') for (let i = 0; i < spec.count; i++) extra.push([`x-f-${i}`, 'v'.repeat(spec.size)]);
        else if (spec.kind === 'duplicated')
          for (let i = 0; i < spec.count; i++) extra.push([spec.name, spec.name === 'content-type' ? 'application/json' : `value-${i}`]);
        const target = spec.kind === 'long_target' ? `${g.chatPath}?q=${'a'.repeat(spec.size)}` : g.chatPath;
        const headers: Header[] = [hostHeader(g), ['Content-Type', 'application/json'], ...extra, ['Content-Length', String(body.length)]];
        const bytes = rawRequest('POST', target, headers, body);
        // Heads just under Node's 16 KiB limit pass the gateway but not the simulator (also Node), which then
        // answers a bare 431 the harness cannot tell from the gateway's own: that window is left out.
        const headBytes = bytes.length - body.length;
        fc.pre(headBytes < 15_000 || headBytes > 17_000);
        const outcome = await sendRaw(fleet, g, { bytes, method: 'POST', target });
        checkRaw(outcome, `POST ${g.chatPath} with ${JSON.stringify(spec)} (${bytes.length} bytes)`);
      },
    );
    await assertProperty(fleet, gateway(), property, 40);
  });

  it('answers well-formed framings other than Content-Length (chunked in any split, HTTP/1.0, pipelined) with the provider answer', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    type Framing = { kind: 'chunked'; sizes: number[]; extension: boolean; trailer: boolean } | { kind: 'http10' } | { kind: 'pipelined'; count: number };
    const framing: fc.Arbitrary<Framing> = fc.oneof(
      fc.record({
        kind: fc.constant('chunked' as const),
        sizes: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }),
        extension: fc.boolean(),
        trailer: fc.boolean(),
      }),
      fc.constant({ kind: 'http10' as const }),
      fc.record({ kind: fc.constant('pipelined' as const), count: fc.integer({ min: 2, max: 4 }) }),
    );
    const property = fc.asyncProperty(framing, fc.boolean(), async (spec, stream) => {
      const g = gateway();
      const body = chatBody(g, stream);
      const text = body.toString('latin1');
      const base: Header[] = [hostHeader(g), ['Content-Type', 'application/json']];
      let bytes: Buffer;
      if (spec.kind === 'chunked') {
        const parts: string[] = [];
        let at = 0;
        for (const size of [...spec.sizes, text.length]) {
          if (at >= text.length) break;
          const piece = text.slice(at, at + size);
          parts.push(`${piece.length.toString(16)}${spec.extension ? ';name=value' : ''}\r\n${piece}\r\n`);
          at += piece.length;
        }
        bytes = Buffer.concat([
          rawRequest('POST', g.chatPath, [...base, ['Transfer-Encoding', 'chunked']]),
          Buffer.from(`${parts.join('')}0\r\n${spec.trailer ? 'x-f-trailer: 1\r\n' : ''}\r\n`, 'latin1'),
        ]);
      } else if (spec.kind === 'http10') {
        bytes = Buffer.concat([
          Buffer.from(`POST ${g.chatPath} HTTP/1.0\r\n${base.map(([n, v]) => `${n}: ${v}\r\n`).join('')}Content-Length: ${body.length}\r\n\r\n`, 'latin1'),
          body,
        ]);
      } else {
        const one = rawRequest('POST', g.chatPath, [...base, ['Content-Length', String(body.length)]], body);
        bytes = Buffer.concat(Array.from({ length: spec.count }, () => one));
      }
      const outcome = await sendRaw(fleet, g, { bytes, method: 'POST', target: g.chatPath, answers: spec.kind === 'pipelined' ? spec.count : 1 });
      expectAnswered(outcome, `${JSON.stringify(spec)} on POST ${g.chatPath}`, true);
    });
    await assertProperty(fleet, gateway(), property, 30);
  });

  it('answers malformed HTTP (bad chunked encoding, conflicting lengths, bad request lines and header lines) in the standard shape, or closes', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const variant = fc.constantFrom(
      // chunked bodies, sent whole and followed by FIN
      'chunk_non_hex_size',
      'chunk_negative_size',
      'chunk_hex_prefix',
      'chunk_size_overflow',
      'chunk_size_too_small',
      'chunk_size_too_big',
      'chunk_missing_crlf',
      'chunk_no_last_chunk',
      'chunk_bare_lf',
      'chunk_space_in_size',
      'chunk_bad_extension',
      'chunk_garbage_trailer',
      // transfer-encoding and content-length together or odd
      'te_and_cl',
      'te_and_short_cl',
      'te_gzip_chunked_and_cl',
      'te_chunked_identity',
      'te_identity',
      'te_gzip',
      'te_xchunked',
      'te_chunked_twice',
      'te_tab',
      'te_two_headers',
      'cl_conflicting',
      'cl_duplicate_same',
      'cl_negative',
      'cl_plus',
      'cl_hex',
      'cl_huge',
      'cl_list',
      // header lines
      'obs_fold',
      'space_before_colon',
      'no_colon',
      'nul_in_value',
      'cr_in_value',
      'ctl_in_value',
      'utf8_in_name',
      'empty_name',
      'no_host',
      'two_hosts',
      // request lines
      'http20',
      'http09',
      'lowercase_version',
      'double_space',
      'no_version',
      'lf_only',
      'lowercase_method',
      'unknown_method',
      'empty_method',
      'tab_separators',
      'asterisk_target_get',
      'authority_target_post',
      'connect_authority',
      'raw_non_ascii_target',
      'ctl_in_target',
      'fragment_only_target',
      'empty_target',
      // garbage
      'tls_client_hello',
      'http2_preface',
      'binary_noise',
      'pipelined_then_garbage',
    );
    const property = fc.asyncProperty(variant, async (name) => {
      const g = gateway();
      const body = chatBody(g);
      const text = body.toString('latin1');
      const n = text.length.toString(16);
      const host = `Host: ${g.host}:${g.port}\r\n`;
      const line = `POST ${g.chatPath} HTTP/1.1\r\n`;
      const json = 'Content-Type: application/json\r\n';
      const withCl = `Content-Length: ${body.length}\r\n`;
      const chunkedHead = `${line}${host}${json}Transfer-Encoding: chunked\r\n\r\n`;
      const whole = `${n}\r\n${text}\r\n0\r\n\r\n`;
      const requests: Record<string, string> = {
        chunk_non_hex_size: `${chunkedHead}zz\r\n${text}\r\n0\r\n\r\n`,
        chunk_negative_size: `${chunkedHead}-${n}\r\n${text}\r\n0\r\n\r\n`,
        chunk_hex_prefix: `${chunkedHead}0x${n}\r\n${text}\r\n0\r\n\r\n`,
        chunk_size_overflow: `${chunkedHead}ffffffffffffffffffff\r\n${text}\r\n0\r\n\r\n`,
        chunk_size_too_small: `${chunkedHead}1\r\n${text}\r\n0\r\n\r\n`,
        chunk_size_too_big: `${chunkedHead}${(text.length + 100).toString(16)}\r\n${text}\r\n`,
        chunk_missing_crlf: `${chunkedHead}${n}\r\n${text}0\r\n\r\n`,
        chunk_no_last_chunk: `${chunkedHead}${n}\r\n${text}\r\n`,
        chunk_bare_lf: `${chunkedHead}${n}\n${text}\n0\n\n`,
        chunk_space_in_size: `${chunkedHead}${n.slice(0, 1)} ${n.slice(1)}\r\n${text}\r\n0\r\n\r\n`,
        chunk_bad_extension: `${chunkedHead}${n};=\u0001\r\n${text}\r\n0\r\n\r\n`,
        chunk_garbage_trailer: `${chunkedHead}${n}\r\n${text}\r\n0\r\nnot a trailer\r\n\r\n`,
        te_and_cl: `${line}${host}${json}${withCl}Transfer-Encoding: chunked\r\n\r\n${whole}`,
        te_and_short_cl: `${line}${host}${json}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n${whole}`,
        te_gzip_chunked_and_cl: `${line}${host}${json}${withCl}Transfer-Encoding: gzip, chunked\r\n\r\n${whole}`,
        te_chunked_identity: `${line}${host}${json}Transfer-Encoding: chunked, identity\r\n\r\n${whole}`,
        te_identity: `${line}${host}${json}Transfer-Encoding: identity\r\n\r\n${whole}`,
        te_gzip: `${line}${host}${json}Transfer-Encoding: gzip\r\n\r\n${whole}`,
        te_xchunked: `${line}${host}${json}Transfer-Encoding: xchunked\r\n\r\n${whole}`,
        te_chunked_twice: `${line}${host}${json}Transfer-Encoding: chunked, chunked\r\n\r\n${whole}`,
        te_tab: `${line}${host}${json}Transfer-Encoding:\tchunked\t\r\n\r\n${whole}`,
        te_two_headers: `${line}${host}${json}Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n${whole}`,
        cl_conflicting: `${line}${host}${json}${withCl}Content-Length: ${body.length + 7}\r\n\r\n${text}`,
        cl_duplicate_same: `${line}${host}${json}${withCl}${withCl}\r\n${text}`,
        cl_negative: `${line}${host}${json}Content-Length: -1\r\n\r\n${text}`,
        cl_plus: `${line}${host}${json}Content-Length: +${body.length}\r\n\r\n${text}`,
        cl_hex: `${line}${host}${json}Content-Length: 0x${n}\r\n\r\n${text}`,
        cl_huge: `${line}${host}${json}Content-Length: 99999999999999999999999\r\n\r\n${text}`,
        cl_list: `${line}${host}${json}Content-Length: ${body.length}, ${body.length}\r\n\r\n${text}`,
        obs_fold: `${line}${host}X-Folded: a\r\n b\r\n${json}${withCl}\r\n${text}`,
        space_before_colon: `${line}${host}X-Space : a\r\n${json}${withCl}\r\n${text}`,
        no_colon: `${line}${host}NoColonHere\r\n${json}${withCl}\r\n${text}`,
        nul_in_value: `${line}${host}X-Nul: a\u0000b\r\n${json}${withCl}\r\n${text}`,
        cr_in_value: `${line}${host}X-Cr: a\rb\r\n${json}${withCl}\r\n${text}`,
        ctl_in_value: `${line}${host}x-session-id: \u0001\u0002\r\n${json}${withCl}\r\n${text}`,
        utf8_in_name: `${line}${host}X-\u00e9: a\r\n${json}${withCl}\r\n${text}`,
        empty_name: `${line}${host}: value\r\n${json}${withCl}\r\n${text}`,
        no_host: `${line}${json}${withCl}\r\n${text}`,
        two_hosts: `${line}${host}Host: evil.example\r\n${json}${withCl}\r\n${text}`,
        http20: `POST ${g.chatPath} HTTP/2.0\r\n${host}${json}${withCl}\r\n${text}`,
        http09: `GET /\r\n\r\n`,
        lowercase_version: `POST ${g.chatPath} http/1.1\r\n${host}${json}${withCl}\r\n${text}`,
        double_space: `POST  ${g.chatPath}  HTTP/1.1\r\n${host}${json}${withCl}\r\n${text}`,
        no_version: `POST ${g.chatPath}\r\n${host}${json}${withCl}\r\n${text}`,
        lf_only: `POST ${g.chatPath} HTTP/1.1\n${host.trim()}\n${json.trim()}\n${withCl.trim()}\n\n${text}`,
        lowercase_method: `post ${g.chatPath} HTTP/1.1\r\n${host}${json}${withCl}\r\n${text}`,
        unknown_method: `FUZZ ${g.chatPath} HTTP/1.1\r\n${host}${json}${withCl}\r\n${text}`,
        empty_method: ` ${g.chatPath} HTTP/1.1\r\n${host}${json}${withCl}\r\n${text}`,
        tab_separators: `POST\t${g.chatPath}\tHTTP/1.1\r\n${host}${json}${withCl}\r\n${text}`,
        asterisk_target_get: `GET * HTTP/1.1\r\n${host}\r\n`,
        authority_target_post: `POST example.com:443 HTTP/1.1\r\n${host}${json}${withCl}\r\n${text}`,
        connect_authority: `CONNECT 169.254.169.254:80 HTTP/1.1\r\n${host}\r\n`,
        raw_non_ascii_target: `GET /\u00e9t\u00e9/\u00ff HTTP/1.1\r\n${host}\r\n`,
        ctl_in_target: `GET /v1/\u0001models HTTP/1.1\r\n${host}\r\n`,
        fragment_only_target: `GET #x HTTP/1.1\r\n${host}\r\n`,
        empty_target: `GET  HTTP/1.1\r\n${host}\r\n`,
        tls_client_hello: '\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003',
        http2_preface: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
        binary_noise: '\u0000\u00ff\u00fe\u0001\r\n\r\n',
        pipelined_then_garbage: `${line}${host}${json}${withCl}\r\n${text}\u0000\u0001GARBAGE\r\n\r\n`,
      };
      const bytes = Buffer.from(requests[name], 'latin1');
      // Everything is sent at once and the write side closed: nothing is left for the gateway to wait for.
      const outcome = await sendRaw(fleet, g, { bytes, method: requests[name].split(' ', 1)[0], target: name, endAfterWrite: true });
      checkRaw(outcome, `malformed request "${name}"`, { mayClose: true });
    });
    await assertProperty(fleet, gateway(), property, 60);
  });

  it('answers or closes a stalled request (body shorter than its Content-Length, chunked body without its last chunk, unfinished headers) within the server timeout', {
    timeout: TEST_TIMEOUT_MS + 4 * STALLED_BODY_DEADLINE_MS,
  }, async () => {
    // Each run stalls the three ways at once (each costs the server's timeout in wall time).
    const property = fc.asyncProperty(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1, max: 100_000 }), async (percentSent, missing) => {
      const g = gateway();
      const body = chatBody(g);
      const sent = body.subarray(0, Math.floor((body.length * percentSent) / 100));
      const declared = sent.length + missing;
      const headersOnly = rawRequest('POST', g.chatPath, [hostHeader(g), ['Content-Type', 'application/json'], ['Content-Length', String(body.length)]]);
      const stalls: Array<[string, Buffer]> = [
        [
          `POST ${g.chatPath} declaring ${declared} bytes, sending ${sent.length}, then waiting`,
          rawRequest('POST', g.chatPath, [hostHeader(g), ['Content-Type', 'application/json'], ['Content-Length', String(declared)]], sent),
        ],
        [
          `POST ${g.chatPath} chunked, ${sent.length} bytes of a chunk, no last chunk, then waiting`,
          Buffer.concat([
            rawRequest('POST', g.chatPath, [hostHeader(g), ['Content-Type', 'application/json'], ['Transfer-Encoding', 'chunked']]),
            Buffer.from(`${(sent.length + missing).toString(16)}\r\n`),
            sent,
          ]),
        ],
        [
          `POST ${g.chatPath}: ${percentSent}% of its headers, then waiting`,
          headersOnly.subarray(0, Math.max(1, Math.floor(((headersOnly.length - 4) * percentSent) / 100))),
        ],
      ];
      const outcomes = await Promise.all(
        stalls.map(([, bytes]) => sendRaw(fleet, g, { bytes, method: 'POST', target: g.chatPath, deadlineMs: STALLED_BODY_DEADLINE_MS })),
      );
      outcomes.forEach((outcome, i) => checkRaw(outcome, stalls[i][0], { mayClose: true, deadlineMs: STALLED_BODY_DEADLINE_MS }));
    });
    await assertProperty(fleet, gateway(), property, 3);
  });
});

describe('harness self-check', () => {
  it('a plain streamed request over a raw socket is answered 200 by both gateways', async () => {
    for (const type of ['openai', 'anthropic'] as const) {
      const g = fleet.get(type);
      const body = chatBody(g, true);
      const outcome = await sendRaw(fleet, g, {
        bytes: rawRequest(
          'POST',
          g.chatPath,
          [hostHeader(g), ['Content-Type', 'application/json'], ['Content-Length', String(body.length)], ['Connection', 'close']],
          body,
        ),
        method: 'POST',
        target: g.chatPath,
      });
      expect(outcome.kind).toBe('response');
      if (outcome.kind === 'response') {
        checkAnswer(outcome.answer);
        expect(outcome.answer.status).toBe(200);
      }
    }
  });
});
