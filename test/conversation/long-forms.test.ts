// The long forms of texts and tool arguments (src/conversation/long-text.ts, long-json.ts): the reply side
// folds a streamed string piece by piece and must land on exactly the form the request side computes from
// the whole string, however the string is cut, whatever whitespace surrounds it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonTokenizer, type JsonSink } from '../../src/conversation/json-tokens.js';
import { argumentsForm, canonicalLength, JsonFold } from '../../src/conversation/long-json.js';
import { LONG_TEXT, TrimmedTextFold, trimmedForm } from '../../src/conversation/long-text.js';
import { stableJson } from '../../src/conversation/json-text.js';
import { CanonicalBuilder } from '../../src/conversation/canonical.js';
import { spokenText } from '../../src/conversation/segments.js';

/** Cuts `text` at the given fractions, never inside a surrogate pair (the callers carry those over). */
function cut(text: string, fractions: number[]): string[] {
  const points = [...new Set(fractions.map((f) => Math.floor(f * text.length)))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let from = 0;
  for (let point of points) {
    const code = text.charCodeAt(point - 1);
    if (code >= 0xd800 && code <= 0xdbff) point++;
    if (point <= from || point >= text.length) continue;
    pieces.push(text.slice(from, point));
    from = point;
  }
  pieces.push(text.slice(from));
  return pieces;
}

function folded(pieces: string[]) {
  const fold = new TrimmedTextFold();
  for (const piece of pieces) fold.append(piece);
  return fold.result();
}

const SPACES = [' ', '\n', '\t', '\r', '\u00a0', '\u2003', '\u3000', '\ufeff', '\u2028', '\v', '\f'];
const space = fc.constantFrom(...SPACES);
const visible = fc.constantFrom('a', 'Z', '.', 'é', '👋', '\u180e', '\u200b', '"', '\\');
const run = (unit: fc.Arbitrary<string>) =>
  fc.tuple(fc.array(unit, { maxLength: 6 }), fc.nat({ max: 3 })).map(([units, scale]) => units.join('').repeat([1, 10, 5000, 30000][scale]));

describe('long texts', () => {
  it('take the digest form in assistant messages only: a long user message keeps its words', () => {
    const text = `${'context '.repeat(LONG_TEXT / 8)}\n\nPlease start over.`;
    const user = new CanonicalBuilder().text(text).build('user');
    expect(user.text).toBe(text);
    expect(spokenText(user)).toContain('start over');
    const assistant = new CanonicalBuilder().text(text).build('assistant');
    expect(assistant.text).toBe(trimmedForm(text).text);
    expect(spokenText(assistant)).toBe('');
  });

  it('folds to trimmedForm(text) for short, long and whitespace-heavy texts, however they are cut', () => {
    const text = fc.array(fc.oneof(run(space), run(visible)), { maxLength: 8 }).map((runs) => runs.join(''));
    fc.assert(
      fc.property(text, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }), (value, fractions) => {
        expect(folded(cut(value, fractions))).toEqual(trimmedForm(value));
      }),
      { numRuns: 300 },
    );
  });

  it('uses the digest form above LONG_TEXT characters of trimmed text, and the text itself up to it', () => {
    const atLimit = `  ${'x'.repeat(LONG_TEXT)}\n`;
    expect(trimmedForm(atLimit)).toEqual({ text: 'x'.repeat(LONG_TEXT), long: false });
    const over = trimmedForm(`${'x'.repeat(LONG_TEXT + 1)}  `);
    expect(over.long).toBe(true);
    expect(over.text).toMatch(new RegExp(`^\u0002long:${LONG_TEXT + 1}:[0-9a-f]{64}$`));
    // Long runs of whitespace on both sides of a short text are still trimmed away, never hashed in.
    expect(folded(['\n'.repeat(3 * LONG_TEXT), 'short', ' '.repeat(3 * LONG_TEXT)])).toEqual({ text: 'short', long: false });
    // ... and inside a text they count, even when they were held back first.
    const inside = `a${' '.repeat(2 * LONG_TEXT)}b`;
    expect(folded(['a', ' '.repeat(LONG_TEXT), ' '.repeat(LONG_TEXT), 'b'])).toEqual(trimmedForm(inside));
  });

  it('hashes a surrogate pair as one character whichever side of a cut it falls on (callers carry it)', () => {
    const text = `${'😀'.repeat(LONG_TEXT)}`;
    expect(folded(cut(text, [0.1, 0.5, 0.77]))).toEqual(trimmedForm(text));
  });
});

/** A JSON text of `value` with other spacing and the keys of every object in reverse order. */
function reserialised(value: unknown, spacing: number): string {
  const reverse = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(reverse);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.entries(v)
          .reverse()
          .map(([k, x]) => [k, reverse(x)]),
      );
    return v;
  };
  return JSON.stringify(reverse(value), null, spacing);
}

/** The fold's form; text that is not JSON falls back to the text form, as the reply side does. */
function foldJson(pieces: string[]): string {
  const fold = new JsonFold();
  for (const piece of pieces) fold.write(piece);
  return fold.result() ?? trimmedForm(pieces.join('')).text;
}

describe('long tool arguments', () => {
  const big = (x: string) => x.repeat(LONG_TEXT / 4);
  const values = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }),
    fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(big('ab"\\'), big('é👋\n'), big('x'))).map(([v, s]) => ({ payload: s, other: v, list: [s, v] })),
    fc.constant(Array.from({ length: 20_000 }, (_, i) => (i % 7 === 0 ? -i / 8 : i))),
  );

  it('folds streamed JSON to argumentsForm of the text, and of the same value re-serialised, for short and long values', () => {
    fc.assert(
      fc.property(values, fc.nat({ max: 3 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 10 }), (value, spacing, fractions) => {
        const text = JSON.stringify(value);
        const expected = argumentsForm(text);
        expect(foldJson(cut(text, fractions))).toBe(expected);
        expect(argumentsForm(reserialised(value, spacing))).toBe(expected);
        // As a value (Anthropic `input`): a string would be read as the arguments' text, null as no arguments.
        if (typeof value !== 'string' && value !== null) expect(argumentsForm(value)).toBe(expected);
        const long = canonicalLength(value, LONG_TEXT) > LONG_TEXT;
        expect(expected.startsWith('json:')).toBe(long);
        if (!long) expect(expected).toBe(stableJson(value));
        else expect(Number(expected.split(':')[1])).toBe(stableJson(value).length);
      }),
      { numRuns: 60 },
    );
  });

  it('compares text that is not JSON as trimmed text, long or short', () => {
    for (const text of ['  not json ', '{"a":1', `{"a":"${'x'.repeat(LONG_TEXT + 5)}"`, `  ${'y'.repeat(LONG_TEXT + 5)}\n`]) {
      expect(foldJson(cut(text, [0.3, 0.6]))).toBe(argumentsForm(text));
      expect(argumentsForm(text)).toBe(trimmedForm(text).text);
    }
  });

  it('handles values nested deeper than the call stack on the request side', () => {
    const deep = `${'['.repeat(40_000)}${']'.repeat(40_000)}`;
    expect(argumentsForm(deep)).toMatch(/^json:80000:[0-9a-f]{64}$/);
  });
});

describe('JSON tokenizer', () => {
  const sink: JsonSink = { open() {}, close() {}, stringStart() {}, stringPiece() {}, stringEnd() {}, number() {}, literal() {} };
  const accepts = (text: string, pieces = 3) => {
    const tokenizer = new JsonTokenizer(sink);
    for (const piece of cut(
      text,
      Array.from({ length: pieces }, (_, i) => (i + 1) / (pieces + 1)),
    ))
      tokenizer.write(piece);
    tokenizer.end();
    return tokenizer.complete;
  };
  const parses = (text: string) => {
    try {
      JSON.parse(text);
      return true;
    } catch {
      return false;
    }
  };

  it('accepts exactly what JSON.parse accepts', () => {
    const samples = [
      '',
      ' ',
      '1',
      '-0',
      '01',
      '1.',
      '.5',
      '1e5',
      '1E+5',
      '-',
      '+1',
      'tru',
      'true',
      'nul',
      'null ',
      '"a',
      '"\\u00e9"',
      '"\\u00g9"',
      '"\\x"',
      '"\t"',
      '[]',
      '[,]',
      '[1,]',
      '[1 2]',
      '{}',
      '{"a"}',
      '{"a":}',
      '{"a":1,}',
      '{,"a":1}',
      '{"a":1}}',
      '[1]]',
      ' {"a" : [ true , null ] } ',
      '{"a":1} x',
      '"\ud800"',
      '[[[]]]',
    ];
    for (const text of samples) expect([text, accepts(text)]).toEqual([text, parses(text)]);
    fc.assert(
      fc.property(fc.json(), fc.nat(), fc.string({ maxLength: 2 }), (json, at, noise) => {
        const mutated = json.slice(0, at % (json.length + 1)) + noise + json.slice(at % (json.length + 1));
        expect(accepts(json)).toBe(true);
        expect(accepts(mutated)).toBe(parses(mutated));
      }),
      { numRuns: 500 },
    );
  });
});
